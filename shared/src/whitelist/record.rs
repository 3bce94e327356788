//! What the whitelist stores, decoded on the Rust side: the session record that the
//! Lua scripts pack (layout in `session_record.lua`), session and token ids as the
//! 16 raw bytes Redis keeps, and the client metadata `GET /sessions` shows.

use crate::client::ClientInfo;

/// Bytes before the kid: jti (16), previous jti (16), created (6), used (6), exp (4),
/// address fingerprint (8).
const FIXED_BYTES: usize = 56;

/// One session as Redis holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRecord {
    pub jti: [u8; 16],
    /// Zeros until the first rotation.
    pub previous_jti: [u8; 16],
    pub created_ms: u64,
    /// Last rotation (or the opening): last use, and the current token's `iat`.
    pub used_ms: u64,
    /// The current refresh token's `exp`, seconds.
    pub expires_at: u64,
    /// Fingerprint of the address that made the last rotation (or opened it).
    pub address: [u8; 8],
    pub kid: String,
}

fn big_endian(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0, |n, &b| (n << 8) | u64::from(b))
}

impl SessionRecord {
    pub fn decode(bytes: &[u8]) -> Option<Self> {
        if bytes.len() < FIXED_BYTES {
            return None;
        }
        Some(SessionRecord {
            jti: bytes[0..16].try_into().ok()?,
            previous_jti: bytes[16..32].try_into().ok()?,
            created_ms: big_endian(&bytes[32..38]),
            used_ms: big_endian(&bytes[38..44]),
            expires_at: big_endian(&bytes[44..48]),
            address: bytes[48..56].try_into().ok()?,
            kid: String::from_utf8(bytes[FIXED_BYTES..].to_vec()).ok()?,
        })
    }

    pub fn is_live(&self, now_ms: u64) -> bool {
        now_ms < self.expires_at * 1000
    }
}

/// A session or token id as minted (32 lowercase hex digits) to the 16 bytes Redis
/// keeps; `None` for anything else, so two spellings can never name one id.
pub fn id_bytes(id: &str) -> Option<[u8; 16]> {
    let canonical = id.len() == 32 && id.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    canonical
        .then(|| uuid::Uuid::try_parse(id).ok())
        .flatten()
        .map(|u| *u.as_bytes())
}

pub fn id_string(bytes: &[u8]) -> Option<String> {
    uuid::Uuid::from_slice(bytes).ok().map(|u| u.simple().to_string())
}

/// Bit of the metadata's flags byte: the session was opened with a second factor.
pub const SIGNED_IN_WITH_OTP: u8 = 1;

/// Client metadata: a flags byte (how the session was opened; `rotate.lua` reads
/// it for the id token's `amr`), one length byte, the source address, the user agent.
pub fn encode_metadata(client: &ClientInfo, flags: u8) -> Vec<u8> {
    let mut ip = client.ip.as_bytes();
    if ip.len() > 255 {
        ip = &ip[..255];
    }
    let mut out = Vec::with_capacity(2 + ip.len() + client.user_agent.len());
    out.push(flags);
    out.push(ip.len() as u8);
    out.extend_from_slice(ip);
    out.extend_from_slice(client.user_agent.as_bytes());
    out
}

/// (source address, user agent); empty strings for anything unreadable.
pub fn decode_metadata(bytes: &[u8]) -> (String, String) {
    let Some((&ip_len, rest)) = bytes.get(1..).and_then(<[u8]>::split_first) else {
        return Default::default();
    };
    let (ip, user_agent) = rest.split_at((ip_len as usize).min(rest.len()));
    (
        String::from_utf8_lossy(ip).into_owned(),
        String::from_utf8_lossy(user_agent).into_owned(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_exactly_the_minted_spelling() {
        let id = uuid::Uuid::new_v4().simple().to_string();
        let bytes = id_bytes(&id).unwrap();
        assert_eq!(id_string(&bytes).unwrap(), id);
        assert_eq!(id_bytes(&id.to_uppercase()), None);
        assert_eq!(id_bytes(&uuid::Uuid::from_bytes(bytes).hyphenated().to_string()), None);
        assert_eq!(id_bytes(""), None);
        assert_eq!(id_bytes(&"g".repeat(32)), None);
    }

    #[test]
    fn metadata_round_trips_even_with_a_truncated_address() {
        let client = ClientInfo {
            ip: "203.0.113.7".into(),
            user_agent: "Mozilla/5.0 (X11)".into(),
        };
        assert_eq!(
            decode_metadata(&encode_metadata(&client, SIGNED_IN_WITH_OTP)),
            (client.ip.clone(), client.user_agent.clone())
        );
        let long = ClientInfo {
            ip: "x".repeat(300),
            user_agent: "ua".into(),
        };
        assert_eq!(
            decode_metadata(&encode_metadata(&long, 0)),
            ("x".repeat(255), "ua".into())
        );
        assert_eq!(decode_metadata(&[]), (String::new(), String::new()));
        assert_eq!(decode_metadata(&[0, 9, b'a']), ("a".into(), String::new()));
    }

    #[test]
    fn a_record_decodes_field_by_field() {
        let mut bytes = vec![1u8; 16];
        bytes.extend([2u8; 16]);
        bytes.extend(&1_764_000_000_123u64.to_be_bytes()[2..]);
        bytes.extend(&1_764_000_005_456u64.to_be_bytes()[2..]);
        bytes.extend(&1_764_259_205u32.to_be_bytes());
        bytes.extend([7u8; 8]);
        bytes.extend(b"r1");
        let record = SessionRecord::decode(&bytes).unwrap();
        assert_eq!(record.jti, [1; 16]);
        assert_eq!(record.previous_jti, [2; 16]);
        assert_eq!(
            (record.created_ms, record.used_ms, record.expires_at),
            (1_764_000_000_123, 1_764_000_005_456, 1_764_259_205)
        );
        assert_eq!(record.address, [7; 8]);
        assert_eq!(record.kid, "r1");
        assert!(record.is_live(1_764_259_204_999) && !record.is_live(1_764_259_205_000));
        assert_eq!(SessionRecord::decode(&bytes[..55]), None);
    }
}
