//! The well-known string formats of `buf.validate.StringRules`, as protovalidate defines them.

use std::sync::OnceLock;

use regex::Regex;

/// The canonical hyphenated form, either case: 8-4-4-4-12 hex digits.
pub fn uuid(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 36
        && b.iter()
            .enumerate()
            .all(|(i, c)| if matches!(i, 8 | 13 | 18 | 23) { *c == b'-' } else { c.is_ascii_hexdigit() })
}

/// The WHATWG HTML form of an email address, which protovalidate checks.
pub fn email(s: &str) -> bool {
    static EMAIL: OnceLock<Regex> = OnceLock::new();
    EMAIL
        .get_or_init(|| {
            Regex::new(
                r"^[a-zA-Z0-9.!#$%&'*+/=?^_`{|}~-]+@[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*$",
            )
            .expect("the email pattern compiles")
        })
        .is_match(s)
}

/// An RFC 1123 host name: at most 253 characters (one trailing dot allowed), labels of 1 to 63
/// letters, digits and hyphens that neither start nor end with a hyphen, the last not all digits.
pub fn hostname(s: &str) -> bool {
    let s = s.strip_suffix('.').unwrap_or(s);
    if s.is_empty() || s.len() > 253 {
        return false;
    }
    let labels: Vec<&str> = s.split('.').collect();
    let label_ok = |l: &&str| {
        !l.is_empty()
            && l.len() <= 63
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
    };
    labels.iter().all(label_ok) && !labels.last().is_some_and(|l| l.bytes().all(|b| b.is_ascii_digit()))
}

/// `host:port`, the host a host name, an IPv4 address or a bracketed IPv6 address.
pub fn host_and_port(s: &str) -> bool {
    let Some((host, port)) = s.rsplit_once(':') else { return false };
    let port_ok = !port.is_empty()
        && port.len() <= 5
        && port.bytes().all(|b| b.is_ascii_digit())
        && port.parse::<u32>().is_ok_and(|p| p <= 65535);
    let host_ok = match host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        Some(v6) => v6.parse::<std::net::Ipv6Addr>().is_ok(),
        None => hostname(host) || host.parse::<std::net::Ipv4Addr>().is_ok(),
    };
    port_ok && host_ok
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        assert!(uuid("018f0c5e-1b2a-7c3d-8e4f-a0b1c2d3e4f5") && uuid("018F0C5E-1B2A-7C3D-8E4F-A0B1C2D3E4F5"));
        for bad in ["", "not-a-uuid", "018f0c5e1b2a7c3d8e4fa0b1c2d3e4f5", "018f0c5e-1b2a-7c3d-8e4f-a0b1c2d3e4fg"] {
            assert!(!uuid(bad), "{bad}");
        }
        assert!(email("a.b+c@example.com") && !email("a@") && !email("@b.com") && !email("a b@c.com"));
        assert!(hostname("github.com") && hostname("a-b.example.") && hostname("localhost"));
        for bad in ["", "-a.com", "a-.com", "a..b", "1.2.3.4", &"a".repeat(64)] {
            assert!(!hostname(bad), "{bad}");
        }
        assert!(host_and_port("example.com:443") && host_and_port("[::1]:8080") && host_and_port("10.0.0.1:0"));
        assert!(!host_and_port("example.com") && !host_and_port("example.com:70000") && !host_and_port("::1:80"));
    }
}
