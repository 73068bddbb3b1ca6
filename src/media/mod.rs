//! Listing photos: where they are stored and where clients fetch them.

pub mod s3;
