//! What the whitelist stores, decoded on the Rust side: the session record that the
//! Lua scripts pack (layout in `session_record.lua`), session and token ids as the
//! 16 raw bytes Redis keeps, and the tag that stands for a refresh secret's kid.

use std::net::IpAddr;

use crate::client::address_of;
use crate::device::Device;

/// Bytes before the address: jti (16), previous jti's first 8 bytes (8), created (6),
/// used (6), exp (4), kid tag (4), flags (1), device (2).
pub const FIXED_BYTES: usize = 47;

/// Bytes of the previous jti a record keeps (see `session_record.lua`).
pub const PREVIOUS_JTI_BYTES: usize = 8;

/// Bit of the record's flags byte: the session was opened with a second factor.
pub const SIGNED_IN_WITH_OTP: u8 = 1;

/// Bit of the record's flags byte that every record of this layout has: a record of
/// the layout before issue 19 has its `exp`'s high byte there (below 128 until 2038),
/// and is never live (see `session_record.lua`).
pub const LAYOUT_FLAG: u8 = 128;

/// One session as Redis holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRecord {
    pub jti: [u8; 16],
    /// The previous jti's first 8 bytes; zeros until the first rotation.
    pub previous_jti: [u8; PREVIOUS_JTI_BYTES],
    pub created_ms: u64,
    /// Last rotation (or the opening): last use, and the current token's `iat`.
    pub used_ms: u64,
    /// The current refresh token's `exp`, seconds.
    pub expires_at: u64,
    /// `kid_tag` of the kid of the secret that signed the current token.
    pub kid_tag: [u8; 4],
    pub flags: u8,
    /// The device that opened the session.
    pub device: Device,
    /// The address that made the last rotation (or opened it); `None` when the edge
    /// gave none.
    pub address: Option<IpAddr>,
}

fn big_endian(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0, |n, &b| (n << 8) | u64::from(b))
}

impl SessionRecord {
    /// `None` for anything the scripts do not write: the fixed 47 bytes with the
    /// layout's flag, then an address of 0, 4 or 16 bytes (so `None` for a record of
    /// the previous layout too, as the scripts see it).
    pub fn decode(bytes: &[u8]) -> Option<Self> {
        let (fixed, address) = (bytes.get(..FIXED_BYTES)?, &bytes[FIXED_BYTES.min(bytes.len())..]);
        if fixed[44] & LAYOUT_FLAG == 0 {
            return None;
        }
        let address = match address.len() {
            0 => None,
            4 | 16 => Some(address_of(address)?),
            _ => return None,
        };
        Some(SessionRecord {
            jti: fixed[0..16].try_into().ok()?,
            previous_jti: fixed[16..24].try_into().ok()?,
            created_ms: big_endian(&fixed[24..30]),
            used_ms: big_endian(&fixed[30..36]),
            expires_at: big_endian(&fixed[36..40]),
            kid_tag: fixed[40..44].try_into().ok()?,
            flags: fixed[44],
            device: Device::decode(fixed[45..47].try_into().ok()?),
            address,
        })
    }

    pub fn is_live(&self, now_ms: u64) -> bool {
        now_ms < self.expires_at * 1000
    }

    /// Whether the session was opened with a second factor.
    pub fn signed_in_with_otp(&self) -> bool {
        self.flags & SIGNED_IN_WITH_OTP != 0
    }
}

/// The 4 bytes a record keeps for a refresh secret's kid: the first 4 bytes of its
/// SHA-256. Fixed size whatever the kid's length, so every record stays within
/// Redis's 64-byte listpack limit; the functions map it back to the kid among the
/// secrets they hold (`Whitelist::new` refuses two kids with one tag).
pub fn kid_tag(kid: &str) -> [u8; 4] {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, kid.as_bytes());
    let mut out = [0u8; 4];
    out.copy_from_slice(&digest.as_ref()[..4]);
    out
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

    fn fixed_part() -> Vec<u8> {
        let mut bytes = vec![1u8; 16];
        bytes.extend([2u8; 8]);
        bytes.extend(&1_764_000_000_123u64.to_be_bytes()[2..]);
        bytes.extend(&1_764_000_005_456u64.to_be_bytes()[2..]);
        bytes.extend(&1_764_259_205u32.to_be_bytes());
        bytes.extend(kid_tag("r1"));
        bytes.push(LAYOUT_FLAG | SIGNED_IN_WITH_OTP);
        bytes.extend(Device::of("Firefox/133.0 (X11; Linux x86_64)").encode());
        bytes
    }

    #[test]
    fn a_record_decodes_field_by_field() {
        let mut bytes = fixed_part();
        assert_eq!(bytes.len(), FIXED_BYTES);
        bytes.extend([203, 0, 113, 7]);
        let record = SessionRecord::decode(&bytes).unwrap();
        assert_eq!(record.jti, [1; 16]);
        assert_eq!(record.previous_jti, [2; 8]);
        assert_eq!(
            (record.created_ms, record.used_ms, record.expires_at),
            (1_764_000_000_123, 1_764_000_005_456, 1_764_259_205)
        );
        assert_eq!(record.kid_tag, kid_tag("r1"));
        assert!(record.signed_in_with_otp());
        assert_eq!(record.device.label(), "Firefox 133, Linux");
        assert_eq!(record.address.unwrap().to_string(), "203.0.113.7");
        assert!(record.is_live(1_764_259_204_999) && !record.is_live(1_764_259_205_000));
        assert_eq!(SessionRecord::decode(&bytes[..FIXED_BYTES - 1]), None);
    }

    #[test]
    fn a_record_stays_within_64_bytes_for_either_address_family_and_any_kid() {
        let mut v6 = fixed_part();
        v6.extend(
            "2001:db8:85a3::8a2e:370:7334"
                .parse::<std::net::Ipv6Addr>()
                .unwrap()
                .octets(),
        );
        assert_eq!(v6.len(), 63);
        let record = SessionRecord::decode(&v6).unwrap();
        assert_eq!(record.address.unwrap().to_string(), "2001:db8:85a3::8a2e:370:7334");
        assert_eq!(SessionRecord::decode(&fixed_part()).unwrap().address, None);
        assert_eq!(kid_tag(&"k".repeat(500)).len(), 4);
        // Only the lengths the scripts write.
        let mut odd = fixed_part();
        odd.extend([1, 2, 3]);
        assert_eq!(SessionRecord::decode(&odd), None);
    }

    #[test]
    fn a_record_of_the_previous_layout_is_never_read_as_this_one() {
        // 56 bytes + a 7-byte kid: 63 bytes, the length of an IPv6 record here. Its
        // byte 45 is the high byte of its `exp` (seconds), below 128 until 2038.
        let mut old = vec![1u8; 32];
        old.extend(&1_764_000_000_123u64.to_be_bytes()[2..]);
        old.extend(&1_764_000_005_456u64.to_be_bytes()[2..]);
        old.extend(&1_764_259_205u32.to_be_bytes());
        old.extend([7u8; 8]);
        old.extend(b"rt-2026");
        assert_eq!(old.len(), 63);
        assert_eq!(SessionRecord::decode(&old), None);
    }
}
