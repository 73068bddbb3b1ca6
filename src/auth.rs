//! Credentials: Argon2id password hashes and bearer tokens (kept only as SHA-256). Hashing is
//! CPU-heavy and takes 19 MiB: it runs on the hashing threads (`crate::hashing`), each reusing
//! one [`Workspace`], so no hash allocates its 19 MiB afresh (the allocator kept such buffers,
//! and a login storm grew the process by gigabytes).

use argon2::password_hash::{Output, PasswordHash, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rand::RngCore;
use sha2::{Digest, Sha256};

/// OWASP's Argon2id baseline: 19 MiB, 2 passes, 1 lane.
const ARGON2_MEMORY_KIB: u32 = 19_456;
const ARGON2_PASSES: u32 = 2;
const ARGON2_LANES: u32 = 1;
const TOKEN_BYTES: usize = 32;
const SALT_BYTES: usize = 16;
/// Bytes of the stored hash output.
const OUTPUT_BYTES: usize = 32;

fn params() -> Params {
    // These parameters are within Argon2's limits, so `new` cannot fail.
    Params::new(
        ARGON2_MEMORY_KIB,
        ARGON2_PASSES,
        ARGON2_LANES,
        Some(OUTPUT_BYTES),
    )
    .unwrap_or_default()
}

/// Argon2's working memory, allocated once per hashing thread and reused: every block is
/// written before it is read, so what a previous hash left there does not matter.
pub struct Workspace(Vec<Block>);

impl Workspace {
    pub fn new() -> Self {
        Workspace(vec![Block::default(); params().block_count()])
    }
}

impl Default for Workspace {
    fn default() -> Self {
        Self::new()
    }
}

/// Hashes a password to a PHC string (`$argon2id$v=19$m=19456,t=2,p=1$…`).
pub fn hash_password(
    workspace: &mut Workspace,
    password: &str,
) -> Result<String, argon2::password_hash::Error> {
    let mut salt = [0u8; SALT_BYTES];
    rand::rngs::OsRng.fill_bytes(&mut salt);
    let params = params();
    let mut out = [0u8; OUTPUT_BYTES];
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone())
        .hash_password_into_with_memory(password.as_bytes(), &salt, &mut out, &mut workspace.0)?;
    let salt = SaltString::encode_b64(&salt)?;
    Ok(PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: (&params).try_into()?,
        salt: Some(salt.as_salt()),
        hash: Some(Output::new(&out)?),
    }
    .to_string())
}

/// Checks a password against a stored PHC string; a malformed hash never matches. A hash made
/// with more memory than ours gets a buffer of its own.
pub fn verify_password(workspace: &mut Workspace, password: &str, phc: &str) -> bool {
    fn check(workspace: &mut Workspace, password: &str, phc: &str) -> Option<bool> {
        let hash = PasswordHash::new(phc).ok()?;
        let (salt, expected) = (hash.salt?, hash.hash?);
        let algorithm = Algorithm::try_from(hash.algorithm).ok()?;
        let version = hash
            .version
            .map_or(Some(Version::default()), |v| Version::try_from(v).ok())?;
        let params = Params::try_from(&hash).ok()?;
        let blocks = params.block_count();
        let mut salt_bytes = [0u8; 64];
        let salt = salt.decode_b64(&mut salt_bytes).ok()?;
        let mut out = vec![0u8; expected.len()];
        let argon2 = Argon2::new(algorithm, version, params);
        let computed = match workspace.0.get_mut(..blocks) {
            Some(memory) => {
                argon2.hash_password_into_with_memory(password.as_bytes(), salt, &mut out, memory)
            }
            None => argon2.hash_password_into(password.as_bytes(), salt, &mut out),
        };
        computed.ok()?;
        // `Output`'s equality is constant-time.
        Some(Output::new(&out).ok()? == expected)
    }
    check(workspace, password, phc).unwrap_or(false)
}

/// A new bearer token: 256 random bits, URL-safe base64.
pub fn new_token() -> String {
    let mut bytes = [0u8; TOKEN_BYTES];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// What is stored for a token: its SHA-256, hex.
pub fn token_hash(token: &str) -> String {
    sha256_hex(token.as_bytes())
}

/// SHA-256 of `data`, lowercase hex.
pub fn sha256_hex(data: &[u8]) -> String {
    Sha256::digest(data)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_verify_only_against_their_own_hash() {
        let mut ws = Workspace::new();
        let phc = hash_password(&mut ws, "correct horse").unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(verify_password(&mut ws, "correct horse", &phc));
        assert!(!verify_password(&mut ws, "wrong horse", &phc));
        assert!(!verify_password(&mut ws, "correct horse", "not a hash"));
    }

    #[test]
    fn a_reused_workspace_gives_the_hashes_argon2_itself_gives() {
        use argon2::password_hash::{PasswordHasher, PasswordVerifier};
        let mut ws = Workspace::new();
        // Dirty the workspace first, then check both ways against the crate's own routines.
        let ours = hash_password(&mut ws, "first").unwrap();
        let parsed = PasswordHash::new(&ours).unwrap();
        assert!(Argon2::default().verify_password(b"first", &parsed).is_ok());
        let salt = SaltString::encode_b64(b"sixteen byte slt").unwrap();
        let theirs = Argon2::new(Algorithm::Argon2id, Version::V0x13, params())
            .hash_password(b"second", &salt)
            .unwrap()
            .to_string();
        assert!(verify_password(&mut ws, "second", &theirs));
        assert!(!verify_password(&mut ws, "first", &theirs));
        // Hashes with other parameters (less or more memory) are still checked.
        for m in [8_192, 32_768] {
            let other = Params::new(m, 1, 1, None).unwrap();
            let theirs = Argon2::new(Algorithm::Argon2id, Version::V0x13, other)
                .hash_password(b"third", &salt)
                .unwrap()
                .to_string();
            assert!(verify_password(&mut ws, "third", &theirs), "m={m}");
        }
    }

    #[test]
    fn tokens_are_random_and_hashed_to_hex() {
        let (a, b) = (new_token(), new_token());
        assert_ne!(a, b);
        assert_eq!(a.len(), 43);
        assert_eq!(token_hash(&a).len(), 64);
        assert_eq!(token_hash(&a), token_hash(&a));
    }
}
