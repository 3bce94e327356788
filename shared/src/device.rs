//! A device label a person recognizes ("Chrome 131, macOS"), read from a user agent
//! by a small table of known browsers and systems, and kept in 2 bytes with the
//! session (issue 19: the raw user agent, often hundreds of bytes, would push the
//! user's whitelist out of Redis's compact listpack encoding).
//!
//! The rules, in order (the first match wins, so the more specific marker is listed
//! first: Edge and Opera also say "Chrome/", Chrome also says "Safari/", iOS also
//! says "like Mac OS X", Android also says "Linux"):
//! - browser: Edge (`Edg/`, `EdgA/`, `EdgiOS/`, `Edge/`), Opera (`OPR/`, `OPiOS/`),
//!   Samsung Internet (`SamsungBrowser/`), Firefox (`Firefox/`, `FxiOS/`), Chrome
//!   (`CriOS/`, `Chrome/`), Safari (`Safari/`, its version from `Version/`), curl
//!   (`curl/`); anything else is "Other". The major version is the number right after
//!   the marker (0, not shown, when there is none; 255 at most).
//! - system: iOS (`iPhone`, `iPad`, `iPod`), Android, ChromeOS (`CrOS`), Windows,
//!   macOS (`Macintosh`, `Mac OS X`), Linux; otherwise none is named.
//!
//! The label: `<browser>[ <major>][, <system>]`, e.g. "Chrome 131, macOS",
//! "Firefox 133, Linux", "curl 8", "Other".

/// Known browsers; the value is the code kept in Redis (4 bits; 0 = Other).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Browser {
    Other = 0,
    Chrome = 1,
    Firefox = 2,
    Edge = 3,
    Safari = 4,
    Opera = 5,
    SamsungInternet = 6,
    Curl = 7,
}

/// Known systems; the value is the code kept in Redis (4 bits; 0 = none named).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Os {
    Unknown = 0,
    MacOs = 1,
    Windows = 2,
    Ios = 3,
    Android = 4,
    Linux = 5,
    ChromeOs = 6,
}

/// (browser, markers whose following number is its version). Order matters: see the
/// module's rules.
const BROWSERS: &[(Browser, &[&str])] = &[
    (Browser::Edge, &["Edg/", "EdgA/", "EdgiOS/", "Edge/"]),
    (Browser::Opera, &["OPR/", "OPiOS/"]),
    (Browser::SamsungInternet, &["SamsungBrowser/"]),
    (Browser::Firefox, &["Firefox/", "FxiOS/"]),
    (Browser::Chrome, &["CriOS/", "Chrome/"]),
    (Browser::Safari, &["Safari/"]),
    (Browser::Curl, &["curl/"]),
];

const SYSTEMS: &[(Os, &[&str])] = &[
    (Os::Ios, &["iPhone", "iPad", "iPod"]),
    (Os::Android, &["Android"]),
    (Os::ChromeOs, &["CrOS"]),
    (Os::Windows, &["Windows"]),
    (Os::MacOs, &["Macintosh", "Mac OS X"]),
    (Os::Linux, &["Linux"]),
];

impl Browser {
    fn from_code(code: u8) -> Self {
        [
            Browser::Chrome,
            Browser::Firefox,
            Browser::Edge,
            Browser::Safari,
            Browser::Opera,
            Browser::SamsungInternet,
            Browser::Curl,
        ]
        .into_iter()
        .find(|b| *b as u8 == code)
        .unwrap_or(Browser::Other)
    }

    fn name(self) -> &'static str {
        match self {
            Browser::Other => "Other",
            Browser::Chrome => "Chrome",
            Browser::Firefox => "Firefox",
            Browser::Edge => "Edge",
            Browser::Safari => "Safari",
            Browser::Opera => "Opera",
            Browser::SamsungInternet => "Samsung Internet",
            Browser::Curl => "curl",
        }
    }
}

impl Os {
    fn from_code(code: u8) -> Self {
        [Os::MacOs, Os::Windows, Os::Ios, Os::Android, Os::Linux, Os::ChromeOs]
            .into_iter()
            .find(|o| *o as u8 == code)
            .unwrap_or(Os::Unknown)
    }

    fn name(self) -> Option<&'static str> {
        Some(match self {
            Os::Unknown => return None,
            Os::MacOs => "macOS",
            Os::Windows => "Windows",
            Os::Ios => "iOS",
            Os::Android => "Android",
            Os::Linux => "Linux",
            Os::ChromeOs => "ChromeOS",
        })
    }
}

/// What `GET /sessions` shows of the device that opened a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Device {
    pub browser: Browser,
    /// Major version; 0 when unknown (not shown).
    pub major: u8,
    pub os: Os,
}

/// The number right after `marker` in `user_agent` (0 when none; 255 at most).
fn version_after(user_agent: &str, marker: &str) -> u8 {
    let Some((_, rest)) = user_agent.split_once(marker) else {
        return 0;
    };
    let digits: String = rest.chars().take_while(char::is_ascii_digit).take(6).collect();
    digits.parse::<u32>().map_or(0, |v| v.min(255) as u8)
}

impl Device {
    /// The device a user agent names, by the table above.
    pub fn of(user_agent: &str) -> Self {
        let (browser, major) = BROWSERS
            .iter()
            .find_map(|(browser, markers)| {
                let marker = markers.iter().find(|m| user_agent.contains(*m))?;
                // Safari's own version is in `Version/`; `Safari/` carries WebKit's.
                let major = if *browser == Browser::Safari {
                    version_after(user_agent, "Version/")
                } else {
                    version_after(user_agent, marker)
                };
                Some((*browser, major))
            })
            .unwrap_or((Browser::Other, 0));
        let os = SYSTEMS
            .iter()
            .find(|(_, markers)| markers.iter().any(|m| user_agent.contains(m)))
            .map_or(Os::Unknown, |(os, _)| *os);
        Device { browser, major, os }
    }

    /// The 2 bytes kept in the session record: browser code << 4 | system code, then
    /// the major version.
    pub fn encode(self) -> [u8; 2] {
        [((self.browser as u8) << 4) | (self.os as u8), self.major]
    }

    pub fn decode(bytes: [u8; 2]) -> Self {
        Device {
            browser: Browser::from_code(bytes[0] >> 4),
            major: bytes[1],
            os: Os::from_code(bytes[0] & 0x0f),
        }
    }

    /// "Chrome 131, macOS"; "Other" when nothing is known.
    pub fn label(self) -> String {
        let mut label = self.browser.name().to_string();
        if self.major > 0 && self.browser != Browser::Other {
            label.push_str(&format!(" {}", self.major));
        }
        if let Some(os) = self.os.name() {
            label.push_str(", ");
            label.push_str(os);
        }
        label
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn label(user_agent: &str) -> String {
        Device::of(user_agent).label()
    }

    #[test]
    fn common_user_agents_get_the_label_a_person_recognizes() {
        let cases = [
            (
                "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
                "Chrome 131, macOS",
            ),
            (
                "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.2903.86",
                "Edge 131, Windows",
            ),
            (
                "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
                "Firefox 133, Linux",
            ),
            (
                "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1",
                "Safari 18, iOS",
            ),
            (
                "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/131.0.6778.73 Mobile/15E148 Safari/604.1",
                "Chrome 131, iOS",
            ),
            (
                "Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/26.0 Chrome/122.0.0.0 Mobile Safari/537.36",
                "Samsung Internet 26, Android",
            ),
            (
                "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36 OPR/115.0.0.0",
                "Opera 115, Windows",
            ),
            (
                "Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
                "Chrome 131, ChromeOS",
            ),
            ("curl/8.5.0", "curl 8"),
            ("e2e-tests/1.0", "Other"),
            ("", "Other"),
            ("Mozilla/5.0 (Windows NT 10.0) SomeBot/2.0", "Other, Windows"),
        ];
        for (user_agent, expected) in cases {
            assert_eq!(label(user_agent), expected, "{user_agent}");
        }
    }

    #[test]
    fn a_device_survives_its_two_bytes() {
        for user_agent in [
            "Chrome/999 (Android)",
            "Firefox/133 Linux",
            "curl/8",
            "",
            "Edg/1 Windows",
        ] {
            let device = Device::of(user_agent);
            assert_eq!(Device::decode(device.encode()), device, "{user_agent}");
        }
        assert_eq!(Device::of("Chrome/999").major, 255, "clamped");
        assert_eq!(Device::decode([0xff, 0]).label(), "Other", "unknown codes");
    }
}
