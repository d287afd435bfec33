//! The client side of SCRAM-SHA-256 (RFC 5802 with RFC 7677's hash), as the stand-in speaks it to the
//! real PostgreSQL behind it: Query Service takes a cleartext password from the client, and the local
//! server only accepts scram, so the stand-in has to turn one into the other.
//!
//! gs2 header `n,,` (no channel binding: the stand-in terminates the client's TLS itself, so there is
//! no end-to-end channel to bind to). The password is used as its UTF-8 bytes without SASLprep;
//! assumption: test passwords are ASCII, for which SASLprep changes nothing (PostgreSQL, too, falls
//! back to the raw bytes when SASLprep fails).

use openssl::base64;
use openssl::hash::MessageDigest;
use openssl::pkey::PKey;
use openssl::sign::Signer;

/// What can go wrong: the server's messages are malformed or its proof is wrong. Never carries the
/// password or anything derived from it.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct ScramError(pub &'static str);

/// One SCRAM exchange in progress.
pub(crate) struct Scram {
    client_nonce: String,
    client_first_bare: String,
    salted_password: Option<[u8; 32]>,
    auth_message: String,
}

fn hmac(key: &[u8], data: &[u8]) -> [u8; 32] {
    let key = PKey::hmac(key).expect("HMAC key");
    let mut signer = Signer::new(MessageDigest::sha256(), &key).expect("HMAC-SHA-256");
    signer.update(data).expect("HMAC update");
    let mut out = [0u8; 32];
    out.copy_from_slice(&signer.sign_to_vec().expect("HMAC final"));
    out
}

impl Scram {
    /// Start with a fresh random nonce. PostgreSQL ignores the SCRAM user name (it uses the startup
    /// packet's), so it is sent empty, as libpq does.
    pub(crate) fn new() -> Scram {
        let mut raw = [0u8; 18];
        openssl::rand::rand_bytes(&mut raw).expect("OpenSSL random bytes");
        Scram::with_nonce("", &base64::encode_block(&raw))
    }

    /// A fixed user name and nonce, for the RFC 7677 test vector.
    pub(crate) fn with_nonce(user: &str, nonce: &str) -> Scram {
        Scram {
            client_nonce: nonce.to_string(),
            client_first_bare: format!("n={user},r={nonce}"),
            salted_password: None,
            auth_message: String::new(),
        }
    }

    /// The client-first-message, with the gs2 header.
    pub(crate) fn client_first(&self) -> String {
        format!("n,,{}", self.client_first_bare)
    }

    /// Take the server-first-message and produce the client-final-message (with the proof).
    pub(crate) fn client_final(
        &mut self,
        server_first: &str,
        password: &[u8],
    ) -> Result<String, ScramError> {
        let mut nonce = None;
        let mut salt = None;
        let mut iterations = None;
        for attr in server_first.split(',') {
            match attr.split_once('=') {
                Some(("r", v)) => nonce = Some(v),
                Some(("s", v)) => salt = Some(v),
                Some(("i", v)) => iterations = v.parse::<usize>().ok(),
                Some(("m", _)) => return Err(ScramError("server requires an unknown extension")),
                _ => {}
            }
        }
        let nonce = nonce.ok_or(ScramError("server-first-message lacks a nonce"))?;
        if !nonce.starts_with(&self.client_nonce) || nonce.len() == self.client_nonce.len() {
            return Err(ScramError("server nonce does not extend the client nonce"));
        }
        let salt =
            base64::decode_block(salt.ok_or(ScramError("server-first-message lacks a salt"))?)
                .map_err(|_| ScramError("salt is not base64"))?;
        let iterations = iterations
            .filter(|i| *i > 0)
            .ok_or(ScramError("server-first-message lacks an iteration count"))?;

        let mut salted = [0u8; 32];
        openssl::pkcs5::pbkdf2_hmac(
            password,
            &salt,
            iterations,
            MessageDigest::sha256(),
            &mut salted,
        )
        .map_err(|_| ScramError("PBKDF2 failed"))?;
        // c=biws is base64("n,,"): the gs2 header without channel binding.
        let without_proof = format!("c=biws,r={nonce}");
        self.auth_message = format!(
            "{},{},{}",
            self.client_first_bare, server_first, without_proof
        );
        let client_key = hmac(&salted, b"Client Key");
        let stored_key = openssl::sha::sha256(&client_key);
        let signature = hmac(&stored_key, self.auth_message.as_bytes());
        let proof: Vec<u8> = client_key
            .iter()
            .zip(signature.iter())
            .map(|(a, b)| a ^ b)
            .collect();
        self.salted_password = Some(salted);
        Ok(format!(
            "{without_proof},p={}",
            base64::encode_block(&proof)
        ))
    }

    /// Check the server-final-message: the server proves it knows the password's verifier too.
    pub(crate) fn verify_server(&self, server_final: &str) -> Result<(), ScramError> {
        let salted = self
            .salted_password
            .ok_or(ScramError("server-final-message before server-first"))?;
        if let Some(e) = server_final.strip_prefix("e=") {
            let _ = e; // the server's reason; not echoed, it may name the user
            return Err(ScramError("server reported a SCRAM error"));
        }
        let v = server_final
            .split(',')
            .find_map(|a| a.strip_prefix("v="))
            .ok_or(ScramError("server-final-message lacks a verifier"))?;
        let got = base64::decode_block(v).map_err(|_| ScramError("verifier is not base64"))?;
        let server_key = hmac(&salted, b"Server Key");
        let want = hmac(&server_key, self.auth_message.as_bytes());
        if got.len() == want.len() && openssl::memcmp::eq(&got, &want) {
            Ok(())
        } else {
            Err(ScramError("server signature does not match"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 7677, section 3.
    #[test]
    fn rfc7677_test_vector() {
        let mut s = Scram::with_nonce("user", "rOprNGfwEbeRWgbNEkqO");
        assert_eq!(s.client_first(), "n,,n=user,r=rOprNGfwEbeRWgbNEkqO");
        let server_first = "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,\
                            s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096";
        let fin = s.client_final(server_first, b"pencil").unwrap();
        assert_eq!(
            fin,
            "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,\
             p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="
        );
        assert_eq!(
            s.verify_server("v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="),
            Ok(())
        );
        assert!(
            s.verify_server("v=7rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=")
                .is_err()
        );
    }

    #[test]
    fn server_must_extend_our_nonce() {
        let mut s = Scram::with_nonce("", "abc");
        assert!(s.client_final("r=xyz123,s=QQ==,i=1", b"pw").is_err());
        assert!(s.client_final("r=abc,s=QQ==,i=1", b"pw").is_err());
        assert!(s.client_final("r=abcdef,s=QQ==,i=0", b"pw").is_err());
    }

    #[test]
    fn fresh_nonces_differ() {
        assert_ne!(Scram::new().client_first(), Scram::new().client_first());
    }
}
