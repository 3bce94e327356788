//! Who is calling, as the edge saw it: the address kept in a session record (shown by
//! `GET /sessions`, and the only one that may receive a grace reply after a
//! rotation) and the device label read from the user agent.

use std::net::IpAddr;

use crate::device::Device;

/// The caller's source address and user agent (plain data: `http` fills it in).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientInfo {
    pub ip: String,
    pub user_agent: String,
}

impl ClientInfo {
    /// The source address as the session record keeps it: its raw bytes, 4 for IPv4,
    /// 16 for IPv6 (the whole address: the grace check compares it exactly); empty
    /// when the edge gave none that parses (then every such caller looks alike, as
    /// they did when the record held a fingerprint of the text "unknown").
    pub fn address_bytes(&self) -> Vec<u8> {
        match self.ip.trim().parse::<IpAddr>() {
            Ok(IpAddr::V4(v4)) => v4.octets().to_vec(),
            Ok(IpAddr::V6(v6)) => v6.octets().to_vec(),
            Err(_) => Vec::new(),
        }
    }

    /// The device the user agent names (see `device.rs`).
    pub fn device(&self) -> Device {
        Device::of(&self.user_agent)
    }
}

/// An address as `address_bytes` kept it; `None` for an empty (or malformed) one.
pub fn address_of(bytes: &[u8]) -> Option<IpAddr> {
    match bytes.len() {
        4 => <[u8; 4]>::try_from(bytes).ok().map(IpAddr::from),
        16 => <[u8; 16]>::try_from(bytes).ok().map(IpAddr::from),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(ip: &str) -> Vec<u8> {
        ClientInfo {
            ip: ip.into(),
            user_agent: String::new(),
        }
        .address_bytes()
    }

    #[test]
    fn an_address_is_kept_whole_and_read_back_as_it_was() {
        assert_eq!(at("203.0.113.7"), [203, 0, 113, 7]);
        assert_ne!(at("203.0.113.7"), at("203.0.113.8"));
        assert_eq!(at("2001:db8::1").len(), 16);
        // Two addresses of one /64 stay apart.
        assert_ne!(at("2001:db8::1"), at("2001:db8::2"));
        assert_eq!(at("2001:DB8:0::1"), at("2001:db8::1"), "one address, two spellings");
        for ip in ["203.0.113.7", "2001:db8:85a3::8a2e:370:7334", "::ffff:192.0.2.1"] {
            assert_eq!(address_of(&at(ip)).unwrap().to_string(), ip);
        }
        assert_eq!(at("unknown"), Vec::<u8>::new());
        assert_eq!(address_of(&[]), None);
        assert_eq!(address_of(&[1, 2, 3]), None);
    }
}
