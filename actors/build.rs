//! Builds the crate again when a migration is added: `embed_migrations!` reads the migration
//! directories while compiling, and Cargo, which does not know it, rebuilt only when a file it
//! had already read (an `up.sql`) changed, never for a new directory.

fn main() {
    println!("cargo:rerun-if-changed=../migrations");
}
