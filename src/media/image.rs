//! One uploaded picture made safe to show: the type sniffed from its bytes (JPEG, PNG, WebP;
//! the client's content type and file name are never asked), decoded under limits on its size
//! and the decoder's memory (a decompression bomb or a truncated file is refused, never
//! decoded into gigabytes), turned upright by its EXIF orientation, and re-encoded in three
//! sizes. Re-encoding writes pixels only, so no metadata (GPS position, camera, EXIF,
//! XMP) reaches buyers. An avatar is the same picture cropped to its centred square, in two
//! sizes. Each file's key is the SHA-256 of its bytes: the same picture
//! uploaded twice is stored once. Pure and blocking: run it on the media workers.

use bazaar_actors::domain::photo::{center_square, fit_within, Variant, AVATAR_VARIANTS};
use image::codecs::jpeg::JpegEncoder;
use image::codecs::png::PngEncoder;
use image::imageops::FilterType;
use image::{DynamicImage, ImageDecoder, ImageEncoder, ImageFormat, ImageReader};
use sha2::{Digest, Sha256};
use std::io::Cursor;

/// JPEG quality of the re-encoded variants.
const JPEG_QUALITY: u8 = 85;

/// What the decoder may take.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DecodeLimits {
    /// Most pixels (width × height) a picture may have.
    pub max_pixels: u64,
    /// Most bytes the decoder may allocate at once.
    pub max_alloc_bytes: u64,
}

impl DecodeLimits {
    /// The longest side a picture may have, whatever the pixel count allows.
    pub const MAX_SIDE_PX: u32 = 20_000;
}

/// Why a picture was refused (422 naming the upload).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PictureError {
    #[error("not an image: JPEG, PNG or WebP expected")]
    NotAnImage,
    #[error("too large in pixels: at most {max_pixels} pixels")]
    TooLarge { max_pixels: u64 },
}

/// The formats accepted, as the bytes tell.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sniffed {
    Jpeg,
    Png,
    WebP,
}

/// The format of `bytes` by their signature, if it is one we accept.
pub fn sniff(bytes: &[u8]) -> Option<Sniffed> {
    if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some(Sniffed::Jpeg)
    } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some(Sniffed::Png)
    } else if bytes.len() >= 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        Some(Sniffed::WebP)
    } else {
        None
    }
}

/// Whether a JPEG's segments run all the way to its end-of-image marker. The JPEG decoder the
/// `image` crate uses is lenient: it fills a truncated file's missing rows with grey rather
/// than failing, so completeness is checked here. Walks the marker segments by their lengths
/// and each scan's entropy-coded data to the next marker (an EXIF thumbnail's own end marker,
/// inside its segment, is skipped with it).
pub fn jpeg_is_complete(bytes: &[u8]) -> bool {
    if !bytes.starts_with(&[0xFF, 0xD8]) {
        return false;
    }
    let mut i = 2;
    let mut in_scan = false;
    loop {
        if in_scan {
            // Entropy-coded data: FF 00 is a stuffed byte, FF D0–D7 a restart marker.
            loop {
                match (bytes.get(i), bytes.get(i + 1)) {
                    (Some(0xFF), Some(0x00)) => i += 2,
                    (Some(0xFF), Some(0xD0..=0xD7)) => i += 2,
                    (Some(0xFF), Some(_)) => break,
                    (Some(_), _) => i += 1,
                    (None, _) => return false,
                }
            }
            in_scan = false;
        }
        if bytes.get(i) != Some(&0xFF) {
            return false;
        }
        while bytes.get(i) == Some(&0xFF) {
            i += 1;
        }
        let Some(&marker) = bytes.get(i) else {
            return false;
        };
        i += 1;
        match marker {
            0xD9 => return true,
            0xD0..=0xD7 | 0x01 => {}
            _ => {
                let (Some(&hi), Some(&lo)) = (bytes.get(i), bytes.get(i + 1)) else {
                    return false;
                };
                let length = usize::from(u16::from_be_bytes([hi, lo]));
                if length < 2 {
                    return false;
                }
                i += length;
                in_scan = marker == 0xDA;
            }
        }
    }
}

/// One stored file of a photo.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Encoded {
    pub variant: Variant,
    /// `<sha256 of bytes>.jpg|png`.
    pub key: String,
    pub bytes: Vec<u8>,
    pub width: u32,
    pub height: u32,
}

/// A picture ready to store: its variants, largest first.
#[derive(Clone, Debug)]
pub struct Processed {
    pub variants: Vec<Encoded>,
}

impl Processed {
    pub fn variant(&self, v: Variant) -> Option<&Encoded> {
        self.variants.iter().find(|e| e.variant == v)
    }
}

/// Decodes `bytes` under `limits`, applies the EXIF orientation and encodes every variant.
pub fn process(bytes: &[u8], limits: DecodeLimits) -> Result<Processed, PictureError> {
    encode_variants(decode(bytes, limits)?, &Variant::ALL)
}

/// Decodes `bytes` under `limits` as [`process`] does, crops the picture to its centred
/// square and encodes the avatar's variants ([`AVATAR_VARIANTS`]).
pub fn process_avatar(bytes: &[u8], limits: DecodeLimits) -> Result<Processed, PictureError> {
    let picture = decode(bytes, limits)?;
    let (x, y, side) = center_square(picture.width(), picture.height());
    encode_variants(picture.crop_imm(x, y, side, side), &AVATAR_VARIANTS)
}

/// Encodes `picture` in each of `sizes`, largest first.
fn encode_variants(picture: DynamicImage, sizes: &[Variant]) -> Result<Processed, PictureError> {
    let with_alpha = picture.color().has_alpha();
    let mut variants = Vec::with_capacity(sizes.len());
    // Each size is scaled from the one before: cheaper than from the original every time.
    let mut source = picture;
    for &variant in sizes {
        let (w, h) = fit_within(source.width(), source.height(), variant.long_edge_px());
        let scaled = if (w, h) == (source.width(), source.height()) {
            source
        } else {
            source.resize_exact(w, h, FilterType::Triangle)
        };
        variants.push(encode(&scaled, variant, with_alpha)?);
        source = scaled;
    }
    Ok(Processed { variants })
}

/// The picture, upright.
fn decode(bytes: &[u8], limits: DecodeLimits) -> Result<DynamicImage, PictureError> {
    let format = match sniff(bytes).ok_or(PictureError::NotAnImage)? {
        Sniffed::Jpeg if !jpeg_is_complete(bytes) => return Err(PictureError::NotAnImage),
        Sniffed::Jpeg => ImageFormat::Jpeg,
        Sniffed::Png => ImageFormat::Png,
        Sniffed::WebP => ImageFormat::WebP,
    };
    let too_large = PictureError::TooLarge {
        max_pixels: limits.max_pixels,
    };
    let mut decoder_limits = image::Limits::default();
    decoder_limits.max_image_width = Some(DecodeLimits::MAX_SIDE_PX);
    decoder_limits.max_image_height = Some(DecodeLimits::MAX_SIDE_PX);
    decoder_limits.max_alloc = Some(limits.max_alloc_bytes);
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    reader.limits(decoder_limits);
    let mut decoder = reader.into_decoder().map_err(|e| classify(e, &too_large))?;
    let (width, height) = decoder.dimensions();
    if u64::from(width) * u64::from(height) > limits.max_pixels {
        return Err(too_large);
    }
    // A picture whose EXIF cannot be read is shown as stored.
    let orientation = decoder
        .orientation()
        .unwrap_or(image::metadata::Orientation::NoTransforms);
    let mut picture = DynamicImage::from_decoder(decoder).map_err(|e| classify(e, &too_large))?;
    picture.apply_orientation(orientation);
    Ok(picture)
}

fn classify(e: image::ImageError, too_large: &PictureError) -> PictureError {
    match e {
        image::ImageError::Limits(_) => too_large.clone(),
        _ => PictureError::NotAnImage,
    }
}

/// Encodes one variant: PNG when the picture has an alpha channel (JPEG has none), else JPEG.
fn encode(
    picture: &DynamicImage,
    variant: Variant,
    with_alpha: bool,
) -> Result<Encoded, PictureError> {
    let (width, height) = (picture.width(), picture.height());
    let mut bytes = Vec::new();
    let ext = if with_alpha {
        let rgba = picture.to_rgba8();
        PngEncoder::new(&mut bytes)
            .write_image(&rgba, width, height, image::ExtendedColorType::Rgba8)
            .map_err(|_| PictureError::NotAnImage)?;
        "png"
    } else {
        let rgb = picture.to_rgb8();
        JpegEncoder::new_with_quality(&mut bytes, JPEG_QUALITY)
            .write_image(&rgb, width, height, image::ExtendedColorType::Rgb8)
            .map_err(|_| PictureError::NotAnImage)?;
        "jpg"
    };
    let key = format!("{}.{ext}", hex::encode(Sha256::digest(&bytes)));
    Ok(Encoded {
        variant,
        key,
        bytes,
        width,
        height,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use bazaar_actors::domain::photo::media_type_of_key;
    use image::{Rgb, RgbImage, Rgba, RgbaImage};

    const LIMITS: DecodeLimits = DecodeLimits {
        max_pixels: 40_000_000,
        max_alloc_bytes: 256 * 1024 * 1024,
    };

    fn jpeg(width: u32, height: u32) -> Vec<u8> {
        let picture = RgbImage::from_fn(width, height, |x, y| {
            Rgb([(x % 256) as u8, (y % 256) as u8, 90])
        });
        let mut out = Vec::new();
        JpegEncoder::new_with_quality(&mut out, 90)
            .write_image(&picture, width, height, image::ExtendedColorType::Rgb8)
            .unwrap();
        out
    }

    fn png_with_alpha(width: u32, height: u32) -> Vec<u8> {
        let picture = RgbaImage::from_pixel(width, height, Rgba([10, 200, 30, 128]));
        let mut out = Vec::new();
        PngEncoder::new(&mut out)
            .write_image(&picture, width, height, image::ExtendedColorType::Rgba8)
            .unwrap();
        out
    }

    #[test]
    fn the_type_comes_from_the_bytes() {
        assert_eq!(sniff(&jpeg(4, 4)), Some(Sniffed::Jpeg));
        assert_eq!(sniff(&png_with_alpha(4, 4)), Some(Sniffed::Png));
        assert_eq!(sniff(b"RIFF\0\0\0\0WEBPVP8 "), Some(Sniffed::WebP));
        assert_eq!(sniff(b"GIF89a"), None);
        assert_eq!(sniff(b"hello, I am a .jpg"), None);
        assert_eq!(sniff(b""), None);
    }

    #[test]
    fn three_sizes_never_upscaled_each_keyed_by_its_bytes() {
        let processed = process(&jpeg(2000, 1000), LIMITS).unwrap();
        let sizes: Vec<(u32, u32)> = processed
            .variants
            .iter()
            .map(|e| (e.width, e.height))
            .collect();
        assert_eq!(sizes, [(1600, 800), (640, 320), (240, 120)]);
        for e in &processed.variants {
            assert_eq!(media_type_of_key(&e.key), Some("image/jpeg"), "{}", e.key);
            assert_eq!(
                e.key,
                format!("{}.jpg", hex::encode(Sha256::digest(&e.bytes)))
            );
        }
        let small = process(&jpeg(300, 200), LIMITS).unwrap();
        let sizes: Vec<(u32, u32)> = small.variants.iter().map(|e| (e.width, e.height)).collect();
        assert_eq!(sizes, [(300, 200), (300, 200), (240, 160)]);
    }

    #[test]
    fn an_avatar_is_the_centred_square_in_two_sizes_never_upscaled() {
        let processed = process_avatar(&jpeg(1000, 700), LIMITS).unwrap();
        let sizes: Vec<(Variant, u32, u32)> = processed
            .variants
            .iter()
            .map(|e| (e.variant, e.width, e.height))
            .collect();
        assert_eq!(
            sizes,
            [(Variant::Medium, 640, 640), (Variant::Thumb, 240, 240)]
        );
        let small = process_avatar(&png_with_alpha(300, 200), LIMITS).unwrap();
        let sizes: Vec<(u32, u32)> = small.variants.iter().map(|e| (e.width, e.height)).collect();
        assert_eq!(sizes, [(200, 200), (200, 200)]);
        assert!(small.variants.iter().all(|e| e.key.ends_with(".png")));
    }

    #[test]
    fn the_same_picture_gives_the_same_keys() {
        let a = process(&jpeg(700, 500), LIMITS).unwrap();
        let b = process(&jpeg(700, 500), LIMITS).unwrap();
        let keys = |p: &Processed| p.variants.iter().map(|e| e.key.clone()).collect::<Vec<_>>();
        assert_eq!(keys(&a), keys(&b));
    }

    #[test]
    fn transparency_is_kept_as_png() {
        let processed = process(&png_with_alpha(50, 40), LIMITS).unwrap();
        assert!(processed.variants.iter().all(|e| e.key.ends_with(".png")));
    }

    #[test]
    fn a_jpeg_is_complete_only_up_to_its_end_marker() {
        let whole = jpeg(300, 200);
        assert!(jpeg_is_complete(&whole));
        let mut trailing = whole.clone();
        trailing.extend_from_slice(&[0; 100]);
        assert!(
            jpeg_is_complete(&trailing),
            "bytes after the end are allowed"
        );
        for cut in [
            3,
            20,
            whole.len() / 3,
            whole.len() / 2,
            whole.len() - 2,
            whole.len() - 1,
        ] {
            assert!(
                !jpeg_is_complete(&whole[..cut]),
                "cut at {cut} of {}",
                whole.len()
            );
        }
        assert!(!jpeg_is_complete(b"\xFF\xD8\xFF"));
    }

    #[test]
    fn bombs_truncated_files_and_other_bytes_are_refused() {
        assert_eq!(
            process(b"not a picture", LIMITS).unwrap_err(),
            PictureError::NotAnImage
        );
        let whole = jpeg(400, 300);
        assert_eq!(
            process(&whole[..whole.len() / 3], LIMITS).unwrap_err(),
            PictureError::NotAnImage
        );
        let png = png_with_alpha(400, 300);
        assert_eq!(
            process(&png[..png.len() / 2], LIMITS).unwrap_err(),
            PictureError::NotAnImage
        );
        let few = DecodeLimits {
            max_pixels: 100 * 100,
            ..LIMITS
        };
        assert_eq!(
            process(&jpeg(101, 100), few).unwrap_err(),
            PictureError::TooLarge { max_pixels: 10_000 }
        );
    }
}
