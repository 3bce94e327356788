//! Who is calling, as the edge saw it: kept with a session for `GET /sessions`, and
//! the address that may receive a grace reply after a rotation.

/// The caller's source address and user agent (plain data: `http` fills it in).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientInfo {
    pub ip: String,
    pub user_agent: String,
}

impl ClientInfo {
    /// 8 bytes of SHA-256 of the source address: enough to tell two addresses apart in
    /// a session record without keeping the address itself there.
    pub fn address_fingerprint(&self) -> [u8; 8] {
        let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, self.ip.as_bytes());
        let mut out = [0u8; 8];
        out.copy_from_slice(&digest.as_ref()[..8]);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_addresses_have_different_fingerprints_and_one_address_one() {
        let at = |ip: &str| {
            ClientInfo {
                ip: ip.into(),
                user_agent: String::new(),
            }
            .address_fingerprint()
        };
        assert_eq!(at("203.0.113.7"), at("203.0.113.7"));
        assert_ne!(at("203.0.113.7"), at("203.0.113.8"));
    }
}
