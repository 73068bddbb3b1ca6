//! `photos`: concurrent photo uploads of large phone-sized JPEGs (just under the 10 MiB
//! limit). The figures are photos per second, the upload latency, and the server's peak
//! resident memory: each upload is held in memory while it waits for a picture thread, so
//! the bounded queue (503 beyond it) and the decode limits are what keep memory flat.

use super::{bazaar_with, client, join_recorders, listing, server_errors, Common};
use crate::harness::{seed_users, Check, Report};
use image::{ImageEncoder, Rgb, RgbImage};
use std::time::{Duration, Instant};

/// The load the target is stated for (the CLI defaults).
pub const PHOTOS_UPLOADS: usize = 64;
pub const PHOTOS_CLIENTS: usize = 16;
/// Largest upload the server takes (its default `--photo-max-bytes`).
pub const PHOTO_MAX_BYTES: usize = 10 * 1024 * 1024;

/// Target: the server's peak resident memory with 16 concurrent 10 MiB uploads.
pub const PHOTOS_PEAK_RSS_TARGET_MIB: u64 = 512;

pub async fn run(c: &Common, uploads: usize, clients: usize) -> anyhow::Result<Report> {
    let mut report = Report::new("photos", &c.database);
    let db = c.bazaar_db()?;
    let mut conn = db.connect()?;
    let (seller, token) = seed_users(&mut conn, "photographer", 1, 0)?.remove(0);
    let id = listing(&mut conn, seller, "Camera", 50_000, 1, "photos")?;
    let media = tempfile::tempdir()?;
    let media_dir = media.path().display().to_string();
    let server = bazaar_with(
        c,
        &db,
        &["--media-dir", &media_dir, "--photo-max-per-listing", "1000"],
    )?;
    let picture = bytes_of_a_phone_photo()?;
    report.notes.push(format!(
        "each upload: a {:.1} MiB JPEG of {} pixels",
        picture.len() as f64 / (1024.0 * 1024.0),
        PICTURE_PIXELS
    ));
    let (rss_before, _) = server.rss_kib();
    let url = format!("{}/api/v1/listings/{id}/photos", server.address);
    let http = client();
    let per_client = uploads.div_ceil(clients.max(1));
    let started = Instant::now();
    let rec = join_recorders((0..clients).map(|_| {
        let (http, url, token, picture) =
            (http.clone(), url.clone(), token.clone(), picture.clone());
        tokio::spawn(async move {
            let mut rec = crate::harness::Recorder::new();
            for _ in 0..per_client {
                let t = Instant::now();
                let sent = http
                    .post(&url)
                    .bearer_auth(&token)
                    .header("content-type", "image/jpeg")
                    .body(picture.clone())
                    .send()
                    .await;
                let outcome = match sent {
                    Ok(r) => {
                        let status = r.status().as_u16();
                        let _ = r.bytes().await;
                        if status == 503 {
                            // The queue is full: wait as told, as a client would.
                            tokio::time::sleep(Duration::from_millis(200)).await;
                        }
                        status.to_string()
                    }
                    Err(_) => "transport".to_owned(),
                };
                rec.record(&outcome, t.elapsed());
            }
            rec
        })
    }))
    .await;
    let elapsed = started.elapsed();
    let (rss_after, peak) = server.rss_kib();
    report.server_peak_rss_kib = peak;
    let stored = rec.outcomes.get("201").copied().unwrap_or(0);
    let mut row = rec.figures(&format!("uploads, {clients} clients"), "photos/s", stored);
    row.seconds = elapsed.as_secs_f64();
    row.throughput = stored as f64 / row.seconds.max(1e-9);
    report.rows.push(row);
    let mib = |kib: u64| kib as f64 / 1024.0;
    report.notes.push(format!(
        "server RSS {:.1} MiB before, {:.1} MiB after; peak {:.1} MiB",
        mib(rss_before),
        mib(rss_after),
        mib(peak)
    ));
    report.notes.push(format!("outcomes: {:?}", rec.outcomes));
    report.checks.push(Check::new(
        "every upload answered 201, or 503 when the picture queue is full",
        server_errors(&rec, 0) == rec.outcomes.get("503").copied().unwrap_or(0) && stored > 0,
        format!("{:?}", rec.outcomes),
    ));
    report.checks.push(Check::new(
        format!("target: server peak RSS < {PHOTOS_PEAK_RSS_TARGET_MIB} MiB"),
        peak > 0 && peak < PHOTOS_PEAK_RSS_TARGET_MIB * 1024,
        format!("{:.1} MiB", mib(peak)),
    ));
    Ok(report)
}

/// A phone-sized picture (12 megapixels).
const PICTURE_PIXELS: u32 = 4000 * 3000;

/// A 4000 × 3000 JPEG of noise over gradients (noise keeps it large, as a detailed photo is),
/// at the highest quality that stays under the upload limit.
fn bytes_of_a_phone_photo() -> anyhow::Result<Vec<u8>> {
    let (w, h) = (4000u32, 3000u32);
    let mut seed = 0x2545_F491_4F6C_DD1Du64;
    let picture = RgbImage::from_fn(w, h, |x, y| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let noise = (seed & 0x3f) as u8;
        Rgb([
            ((x * 255 / w) as u8).saturating_add(noise),
            ((y * 255 / h) as u8).saturating_add(noise / 2),
            noise.wrapping_mul(3),
        ])
    });
    for quality in [95u8, 90, 85, 80, 70, 60] {
        let mut out = Vec::new();
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, quality).write_image(
            picture.as_raw(),
            w,
            h,
            image::ExtendedColorType::Rgb8,
        )?;
        if out.len() <= PHOTO_MAX_BYTES {
            return Ok(out);
        }
    }
    anyhow::bail!("no quality made the picture fit in {PHOTO_MAX_BYTES} bytes")
}
