//! Where listing photos are stored and where clients fetch them.

use crate::media::s3::{parse_public_base, S3Url};
use clap::Args;

#[derive(Debug, Clone, Args)]
pub struct MediaSettings {
    /// Store photos in an S3-compatible bucket, e.g. s3://bucket or s3://bucket/prefix, so
    /// several server processes share them. Endpoint and credentials come from AWS_ENDPOINT_URL,
    /// AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_REGION (AWS_ALLOW_HTTP=true for a plain
    /// http endpoint that is not on this machine). Start-up fails if the bucket is not usable.
    #[arg(long, env = "BAZAAR_MEDIA_URL", value_parser = parse_media_url, global = true)]
    pub media_url: Option<S3Url>,

    /// Photo URLs point here (a CDN or the bucket's public address, including the prefix)
    /// instead of at this server's /media/{key}, e.g. https://cdn.example.com/photos.
    #[arg(long, env = "BAZAAR_MEDIA_PUBLIC_URL", value_parser = parse_public_base, global = true)]
    pub media_public_url: Option<String>,
}

fn parse_media_url(value: &str) -> Result<S3Url, String> {
    value.parse().map_err(|e: crate::media::s3::S3Error| {
        // clap prints the flag's name itself.
        e.to_string()
            .trim_start_matches(&format!("--media-url {value:?}: "))
            .to_owned()
    })
}

#[cfg(test)]
mod tests {
    use crate::config::Cli;
    use clap::Parser;

    #[test]
    fn media_flags_parse_and_default_to_none() {
        let cli = Cli::parse_from(["bazaar"]);
        assert_eq!(cli.settings.media.media_url, None);
        assert_eq!(cli.settings.media.media_public_url, None);
        let cli = Cli::parse_from([
            "bazaar",
            "--media-url",
            "s3://photos/prod",
            "--media-public-url",
            "https://cdn.example.com/prod/",
        ]);
        let url = cli.settings.media.media_url.expect("parsed");
        assert_eq!(
            (url.bucket.as_str(), url.prefix.as_str()),
            ("photos", "prod")
        );
        assert_eq!(
            cli.settings.media.media_public_url.as_deref(),
            Some("https://cdn.example.com/prod")
        );
    }

    #[test]
    fn a_bad_media_url_is_a_usage_error_naming_the_flag() {
        let err =
            Cli::try_parse_from(["bazaar", "--media-url", "s3://Bad_Bucket"]).expect_err("refused");
        let text = err.to_string();
        assert!(text.contains("--media-url"), "{text}");
        assert!(text.contains("is not a bucket name"), "{text}");
        let err = Cli::try_parse_from(["bazaar", "--media-public-url", "cdn.example.com"])
            .expect_err("refused");
        assert!(err.to_string().contains("--media-public-url"), "{err}");
    }
}
