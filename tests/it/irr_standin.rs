//! A stand-in IRR whois server on loopback, speaking the IRRd query
//! protocol as `bgpq4` 1.9 uses it: `!!` (persistent mode), `!n<client>`,
//! `!a` (aggregation probe: refused), `!s-lc` (the sources: `RIPE`),
//! `!s<sources>`, `!i<set>,1` (a set's members, recursively), `!g<asn>` /
//! `!6<asn>` (route / route6 prefixes of an origin), `!q`. Answers are
//! `A<len>\n<data>\nC\n` (data), `C\n` (done, nothing to say) or `D\n`
//! (no such key). Fixture data are documentation prefixes and private
//! ASNs, editable while it runs. Also: `bgpq4` run through
//! [`peerd::irr::expand`] against it.

use peerd::config::IrrSettings;
use peerd::irr::{expand, IrrObject};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

/// The data: set members and route(6) objects, keys upper-case.
#[derive(Default)]
pub struct IrrData {
    /// `AS-PEERD-TEST` -> `["AS65002", "AS-PEERD-INNER"]`.
    pub sets: BTreeMap<String, Vec<String>>,
    /// `AS65002` -> IPv4 prefixes.
    pub routes: BTreeMap<String, Vec<String>>,
    pub routes6: BTreeMap<String, Vec<String>>,
}

impl IrrData {
    /// The fixture: AS65002 originates two IPv4 and one IPv6 prefix, AS65004
    /// one of each; AS-PEERD-TEST holds AS65002 and AS-PEERD-INNER (AS65004);
    /// AS65003 has nothing.
    pub fn fixture() -> IrrData {
        let mut d = IrrData::default();
        let v = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        d.sets
            .insert("AS-PEERD-TEST".into(), v(&["AS65002", "AS-PEERD-INNER"]));
        d.sets.insert("AS-PEERD-INNER".into(), v(&["AS65004"]));
        d.sets.insert("AS-PEERD-EMPTY".into(), vec![]);
        d.routes
            .insert("AS65002".into(), v(&["192.0.2.0/24", "198.51.100.0/25"]));
        d.routes6.insert("AS65002".into(), v(&["2001:db8:1::/48"]));
        d.routes.insert("AS65004".into(), v(&["203.0.113.0/24"]));
        d.routes6.insert("AS65004".into(), v(&["2001:db8:4::/48"]));
        d
    }

    /// The ASNs of `set`, recursively (each set once).
    fn members(&self, set: &str) -> Option<Vec<String>> {
        let mut out = Vec::new();
        let mut todo = vec![set.to_string()];
        let mut seen = std::collections::BTreeSet::new();
        self.sets.get(set)?;
        while let Some(s) = todo.pop() {
            if !seen.insert(s.clone()) {
                continue;
            }
            for m in self.sets.get(&s).into_iter().flatten() {
                if m.starts_with("AS-") {
                    todo.push(m.clone());
                } else if !out.contains(m) {
                    out.push(m.clone());
                }
            }
        }
        Some(out)
    }

    fn answer(&self, q: &str) -> Option<String> {
        let data = if let Some(rest) = q.strip_prefix("!i") {
            let set = rest.trim_end_matches(",1").to_ascii_uppercase();
            self.members(&set)?.join(" ")
        } else if let Some(asn) = q.strip_prefix("!g") {
            self.routes.get(&asn.to_ascii_uppercase())?.join(" ")
        } else if let Some(asn) = q.strip_prefix("!6") {
            self.routes6.get(&asn.to_ascii_uppercase())?.join(" ")
        } else if q == "!s-lc" {
            "RIPE".into()
        } else {
            return None;
        };
        (!data.is_empty()).then_some(data)
    }
}

/// The running stand-in (stops with the test's runtime).
pub struct IrrStandin {
    pub port: u16,
    pub data: Arc<Mutex<IrrData>>,
    /// Every query line received, in order.
    pub queries: Arc<Mutex<Vec<String>>>,
}

impl IrrStandin {
    pub async fn start(data: IrrData) -> IrrStandin {
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = l.local_addr().unwrap().port();
        let data = Arc::new(Mutex::new(data));
        let queries: Arc<Mutex<Vec<String>>> = Arc::default();
        let (d, qs) = (data.clone(), queries.clone());
        tokio::spawn(async move {
            while let Ok((sock, _)) = l.accept().await {
                let (d, qs) = (d.clone(), qs.clone());
                tokio::spawn(async move {
                    let (r, mut w) = sock.into_split();
                    let mut lines = BufReader::new(r).lines();
                    while let Ok(Some(line)) = lines.next_line().await {
                        let q = line.trim().to_string();
                        qs.lock().unwrap().push(q.clone());
                        let reply = if q == "!!" {
                            continue;
                        } else if q == "!q" {
                            break;
                        } else if q.starts_with("!n") || (q.starts_with("!s") && q != "!s-lc") {
                            "C\n".to_string()
                        } else {
                            match d.lock().unwrap().answer(&q) {
                                Some(data) => format!("A{}\n{data}\nC\n", data.len() + 1),
                                None => "D\n".to_string(),
                            }
                        };
                        if w.write_all(reply.as_bytes()).await.is_err() {
                            break;
                        }
                    }
                });
            }
        });
        IrrStandin {
            port,
            data,
            queries,
        }
    }

    /// `irr:` settings lines for peerd pointing here (indented by two).
    pub fn yaml(&self) -> String {
        format!(
            "irr:\n  host: 127.0.0.1\n  port: {}\n  allow_private_asns: true\n  timeout_secs: 20\n",
            self.port
        )
    }

    pub fn settings(&self) -> IrrSettings {
        IrrSettings {
            host: "127.0.0.1".into(),
            port: self.port,
            allow_private_asns: true,
            timeout_secs: 20,
            ..Default::default()
        }
    }
}

fn prefixes(l: &peerd::irr::PrefixList) -> Vec<String> {
    l.entries.iter().map(|e| e.prefix.to_string()).collect()
}

#[tokio::test]
async fn bgpq4_expands_sets_and_asns_from_the_standin() {
    let irr = IrrStandin::start(IrrData::fixture()).await;
    let cfg = irr.settings();
    let set = IrrObject::parse("AS-PEERD-TEST").unwrap();
    let v4 = expand(&cfg, &set, true).await.unwrap();
    assert_eq!(
        prefixes(&v4),
        ["192.0.2.0/24", "198.51.100.0/25", "203.0.113.0/24"]
    );
    let v6 = expand(&cfg, &set, false).await.unwrap();
    assert_eq!(prefixes(&v6), ["2001:db8:1::/48", "2001:db8:4::/48"]);
    let one = expand(&cfg, &IrrObject::asn(65004), true).await.unwrap();
    assert_eq!(prefixes(&one), ["203.0.113.0/24"]);
    // more-specifics: an `le` on every entry
    let cfg_r = IrrSettings {
        more_specifics_v4: Some(28),
        ..cfg.clone()
    };
    let r = expand(&cfg_r, &IrrObject::asn(65004), true).await.unwrap();
    assert_eq!(r.entries[0].le, Some(28));
    // empty: a set without members, an ASN without routes, an unknown set
    for o in ["AS-PEERD-EMPTY", "AS65003", "AS-NOPE"] {
        let l = expand(&cfg, &IrrObject::parse(o).unwrap(), true)
            .await
            .unwrap();
        assert!(l.is_empty(), "{o}: {l:?}");
    }
    // the data changed: the next expansion sees it
    irr.data.lock().unwrap().routes.remove("AS65004");
    assert!(expand(&cfg, &IrrObject::asn(65004), true)
        .await
        .unwrap()
        .is_empty());
    // the queries bgpq4 sent: persistent mode, the set expanded recursively
    let q = irr.queries.lock().unwrap().clone();
    assert!(q.contains(&"!!".to_string()), "{q:?}");
    assert!(q.contains(&"!iAS-PEERD-TEST,1".to_string()), "{q:?}");
    assert!(
        q.iter().any(|l| l.eq_ignore_ascii_case("!gAS65002")),
        "{q:?}"
    );
    assert!(
        q.iter().any(|l| l.eq_ignore_ascii_case("!6AS65004")),
        "{q:?}"
    );
}

#[tokio::test]
async fn an_unreachable_server_is_an_error_not_an_empty_list() {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    drop(l);
    let cfg = IrrSettings {
        host: "127.0.0.1".into(),
        port,
        allow_private_asns: true,
        timeout_secs: 20,
        ..Default::default()
    };
    assert!(expand(&cfg, &IrrObject::asn(65002), true).await.is_err());
}
