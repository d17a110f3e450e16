//! A subscriber's request to the built-in hub (`POST /websub`,
//! form-encoded), checked field by field; each refusal is a one-line
//! reason for the 400 answer.

use url::Url;

use crate::config::{MAX_LEASE_SECONDS, MIN_LEASE_SECONDS};

/// The largest request body the hub reads; larger ones get 413.
pub const MAX_BODY: usize = 64 * 1024;

/// The longest `hub.secret` the Recommendation allows is 199 bytes.
const MAX_SECRET: usize = 199;

/// The longest callback URL accepted.
const MAX_CALLBACK: usize = 2048;

/// `hub.mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Start (or renew) a subscription.
    Subscribe,
    /// End one.
    Unsubscribe,
}

impl Mode {
    /// The value on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Subscribe => "subscribe",
            Mode::Unsubscribe => "unsubscribe",
        }
    }
}

/// A request whose every field is well-formed. Whether its topic is one
/// of herald's feeds and its callback an address the hub may contact is
/// checked by the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// Subscribe or unsubscribe.
    pub mode: Mode,
    /// The feed's URL, as given.
    pub topic: String,
    /// Where to verify and deliver: absolute http or https, without a fragment.
    pub callback: Url,
    /// The lease, clamped to the hub's bounds; the default when not asked.
    pub lease_seconds: u64,
    /// The secret to sign deliveries with.
    pub secret: Option<String>,
}

/// Parses a form-encoded body. `default_lease` is `websub.lease_seconds`.
pub fn parse(body: &[u8], default_lease: u64) -> Result<Request, String> {
    let mut mode = None;
    let mut topic = None;
    let mut callback = None;
    let mut lease = None;
    let mut secret = None;
    for (k, v) in url::form_urlencoded::parse(body) {
        let slot = match &*k {
            "hub.mode" => &mut mode,
            "hub.topic" => &mut topic,
            "hub.callback" => &mut callback,
            "hub.lease_seconds" => &mut lease,
            "hub.secret" => &mut secret,
            _ => continue,
        };
        if slot.is_some() {
            return Err(format!("{k} is given more than once"));
        }
        *slot = Some(v.into_owned());
    }
    let mode = match mode.as_deref() {
        Some("subscribe") => Mode::Subscribe,
        Some("unsubscribe") => Mode::Unsubscribe,
        Some(other) => {
            return Err(format!(
                "hub.mode {other:?} is not supported (subscribe or unsubscribe)"
            ))
        }
        None => return Err("hub.mode is missing".into()),
    };
    let topic = topic
        .filter(|t| !t.is_empty())
        .ok_or("hub.topic is missing")?;
    let callback = callback
        .filter(|c| !c.is_empty())
        .ok_or("hub.callback is missing")?;
    if callback.len() > MAX_CALLBACK {
        return Err(format!("hub.callback is longer than {MAX_CALLBACK} bytes"));
    }
    let callback =
        Url::parse(&callback).map_err(|e| format!("hub.callback is not an absolute URL: {e}"))?;
    if !matches!(callback.scheme(), "http" | "https") || callback.host().is_none() {
        return Err("hub.callback must be an http:// or https:// URL".into());
    }
    if callback.fragment().is_some() {
        return Err("hub.callback must not have a fragment".into());
    }
    if !callback.username().is_empty() || callback.password().is_some() {
        return Err("hub.callback must not carry credentials".into());
    }
    let lease_seconds = match lease.as_deref() {
        None | Some("") => default_lease,
        Some(s) => match s.parse::<u64>() {
            Ok(n) if n > 0 => n.clamp(MIN_LEASE_SECONDS, MAX_LEASE_SECONDS),
            _ => return Err(format!("hub.lease_seconds {s:?} is not a positive integer")),
        },
    };
    let secret = match secret {
        Some(s) if s.is_empty() => return Err("hub.secret is empty".into()),
        Some(s) if s.len() > MAX_SECRET => {
            return Err(format!("hub.secret is longer than {MAX_SECRET} bytes"))
        }
        other => other,
    };
    Ok(Request {
        mode,
        topic,
        callback,
        lease_seconds,
        secret,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(pairs: &[(&str, &str)]) -> Vec<u8> {
        url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(pairs)
            .finish()
            .into_bytes()
    }

    const GOOD: [(&str, &str); 3] = [
        ("hub.mode", "subscribe"),
        ("hub.topic", "https://feeds.example/politics/atom.xml"),
        ("hub.callback", "https://reader.example/cb?id=7"),
    ];

    #[test]
    fn a_good_request_parses_with_the_default_lease() {
        let r = parse(&form(&GOOD), 864_000).unwrap();
        assert_eq!(r.mode, Mode::Subscribe);
        assert_eq!(r.topic, "https://feeds.example/politics/atom.xml");
        assert_eq!(r.callback.as_str(), "https://reader.example/cb?id=7");
        assert_eq!(r.lease_seconds, 864_000);
        assert_eq!(r.secret, None);
    }

    #[test]
    fn leases_are_clamped() {
        let with = |lease: &str| {
            let mut f = GOOD.to_vec();
            f.push(("hub.lease_seconds", lease));
            parse(&form(&f), 864_000)
        };
        assert_eq!(with("1").unwrap().lease_seconds, 3600);
        assert_eq!(with("7200").unwrap().lease_seconds, 7200);
        assert_eq!(with("999999999").unwrap().lease_seconds, 2_592_000);
        for bad in ["0", "-5", "soon", "1.5"] {
            assert!(with(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn every_bad_field_has_a_reason() {
        let cases: Vec<(Vec<(&str, &str)>, &str)> = vec![
            (GOOD[1..].to_vec(), "hub.mode is missing"),
            (
                vec![("hub.mode", "publish"), GOOD[1], GOOD[2]],
                "not supported",
            ),
            (vec![GOOD[0], GOOD[2]], "hub.topic is missing"),
            (vec![GOOD[0], GOOD[1]], "hub.callback is missing"),
            (
                vec![GOOD[0], GOOD[1], ("hub.callback", "/relative")],
                "not an absolute URL",
            ),
            (
                vec![GOOD[0], GOOD[1], ("hub.callback", "ftp://x.example/cb")],
                "http:// or https://",
            ),
            (
                vec![GOOD[0], GOOD[1], ("hub.callback", "https://x.example/cb#f")],
                "fragment",
            ),
            (
                vec![GOOD[0], GOOD[1], ("hub.callback", "https://u:p@x.example/")],
                "credentials",
            ),
            (vec![GOOD[0], GOOD[0], GOOD[1], GOOD[2]], "more than once"),
        ];
        for (pairs, want) in cases {
            let err = parse(&form(&pairs), 864_000).unwrap_err();
            assert!(err.contains(want), "{pairs:?}: {err}");
            assert!(!err.contains('\n'));
        }
    }

    #[test]
    fn secrets_are_at_most_199_bytes() {
        let long = "s".repeat(200);
        let ok = "s".repeat(199);
        let with = |s: &str| {
            let mut f = GOOD.to_vec();
            f.push(("hub.secret", s));
            parse(&form(&f), 864_000)
        };
        assert!(with(&long).unwrap_err().contains("longer than 199"));
        assert_eq!(with(&ok).unwrap().secret.as_deref(), Some(ok.as_str()));
        assert!(with("").is_err());
    }
}
