//! The HTTP edge under abuse (issue 8): refused bodies close cleanly with
//! `Connection: close`, one `Authorization` header only, tokens that look
//! like ours never reach PeeringDB, one client's junk tokens cannot delay
//! another client, and silent, half-sent and idle connections are closed
//! (timeouts, and eviction at the connection cap).

use crate::support::*;
use serde_json::json;
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Reads one response (head and `content-length` body) from `s`.
async fn read_response(s: &mut (impl AsyncRead + Unpin)) -> (u16, String, String) {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        let n = tokio::time::timeout(Duration::from_secs(10), s.read(&mut chunk))
            .await
            .expect("an answer in time")
            .expect("read");
        assert!(
            n > 0,
            "closed before a full answer: {:?}",
            String::from_utf8_lossy(&buf)
        );
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_ascii_lowercase();
    let len: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .map(|v| v.trim().parse().unwrap())
        .expect("content-length");
    while buf.len() < head_end + len {
        let n = s.read(&mut chunk).await.expect("read body");
        assert!(n > 0, "closed mid-body");
        buf.extend_from_slice(&chunk[..n]);
    }
    let status = head.split_whitespace().nth(1).unwrap().parse().unwrap();
    let body = String::from_utf8_lossy(&buf[head_end..head_end + len]).into_owned();
    (status, head, body)
}

/// True once the server closed `s` (EOF or reset) within `within`.
async fn closed_within(s: &mut TcpStream, within: Duration) -> bool {
    let mut b = [0u8; 512];
    let deadline = tokio::time::Instant::now() + within;
    loop {
        match tokio::time::timeout_at(deadline, s.read(&mut b)).await {
            Err(_) => return false,
            Ok(Ok(0)) | Ok(Err(_)) => return true,
            Ok(Ok(_)) => {}
        }
    }
}

#[tokio::test]
async fn a_refused_body_closes_the_connection_cleanly() {
    let pdb = fake_pdb().await;
    let mut o = Options::new(&pdb);
    o.max_body_bytes = 1024;
    let p = Peerd::start(&o).await;
    let mut s = TcpStream::connect(p.hostport()).await.unwrap();
    // keep-alive, a declared length far past the limit, and some of the body
    let head = format!(
        "POST {}/sessions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOK_A}\r\nContent-Type: application/json\r\nContent-Length: 10000000\r\n\r\n",
        p.base()
    );
    s.write_all(head.as_bytes()).await.unwrap();
    // more of the body than the server buffers, still coming while it answers
    let (mut rd, mut wr) = s.into_split();
    let writer = tokio::spawn(async move {
        for _ in 0..50 {
            if wr.write_all(&[b' '; 4096]).await.is_err() {
                break;
            }
        }
        wr
    });
    let (status, head, body) = read_response(&mut rd).await;
    assert_eq!(status, 413, "{head}{body}");
    assert!(head.contains("\r\nconnection: close\r\n"), "{head}");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["errors"][0]["name"], "request");
    // then the server closes: EOF, not a reset that could eat the answer
    let mut rest = Vec::new();
    let r = tokio::time::timeout(Duration::from_secs(5), rd.read_to_end(&mut rest)).await;
    assert!(matches!(r, Ok(Ok(0))), "{r:?}");
    drop(writer.await.unwrap());

    // An early refusal of another kind (no valid token) closes too.
    let mut s = TcpStream::connect(p.hostport()).await.unwrap();
    let req = format!(
        "POST {}/sessions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer peerd_op_nope\r\nContent-Type: application/json\r\nContent-Length: 500\r\n\r\n",
        p.base()
    );
    s.write_all(req.as_bytes()).await.unwrap();
    let (status, head, _) = read_response(&mut s).await;
    assert_eq!(status, 401, "{head}");
    assert!(head.contains("\r\nconnection: close\r\n"), "{head}");
    assert!(closed_within(&mut s, Duration::from_secs(5)).await);

    // An answer after the whole body was read keeps the connection.
    let mut s = TcpStream::connect(p.hostport()).await.unwrap();
    let body = "[]";
    let req = format!(
        "POST {}/sessions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOK_A}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        p.base(),
        body.len()
    );
    s.write_all(req.as_bytes()).await.unwrap();
    let (status, head, _) = read_response(&mut s).await;
    assert_eq!(status, 400, "{head}");
    assert!(!head.contains("connection: close"), "{head}");
    let req = format!("GET {}/healthz HTTP/1.1\r\nHost: x\r\n\r\n", p.base());
    s.write_all(req.as_bytes()).await.unwrap();
    assert_eq!(read_response(&mut s).await.0, 200);

    // A keep-alive client (reqwest's pool) is not tripped by the close.
    let big = json!([{"pad": "x".repeat(4000)}]);
    p.post("/sessions", TOK_A, &big).await.expect(413);
    p.get("/sessions", TOK_A).await.expect(200);
    p.post("/sessions", TOK_A, &big).await.expect(413);
    p.get("/sessions", TOK_A).await.expect(200);
}

#[tokio::test]
async fn two_authorization_headers_are_400() {
    let pdb = fake_pdb().await;
    let p = Peerd::start(&Options::new(&pdb)).await;
    let r = Resp::send(
        p.http
            .get(format!("{}/sessions", p.url))
            .header("authorization", format!("Bearer {TOK_A}"))
            .header("authorization", format!("Bearer {TOK_B}")),
    )
    .await;
    assert_eq!(r.expect(400).error_names(), ["request"]);
    assert!(r.text.contains("Authorization"), "{}", r.text);
    // the same token twice is no better
    let r = Resp::send(
        p.http
            .get(format!("{}/sessions", p.url))
            .header("authorization", format!("Bearer {TOK_A}"))
            .header("authorization", format!("Bearer {TOK_A}")),
    )
    .await;
    r.expect(400);
    p.get("/sessions", TOK_A).await.expect(200);
}

#[tokio::test]
async fn tokens_shaped_like_ours_never_reach_peeringdb() {
    let pdb = fake_pdb().await;
    pdb.set_mode(Mode::Hang);
    let p = Peerd::start(&Options::new(&pdb)).await;
    let before = pdb.hits();
    let op_shaped = "peerd_op_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
    for tok in [
        op_shaped,
        "peerd_op_x",
        "pd_short",
        "pd_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
    ] {
        let started = Instant::now();
        let r = p.get("/sessions", tok).await;
        r.expect(401);
        assert!(r.headers.contains_key("www-authenticate"));
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "{tok}: {:?}",
            started.elapsed()
        );
    }
    pdb.down().await;
    p.get("/sessions", op_shaped).await.expect(401);
    assert_eq!(pdb.hits(), before);
}

/// A client bound to the loopback address `ip`.
fn client_from(ip: &str) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(ip.parse::<IpAddr>().unwrap())
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap()
}

#[tokio::test]
async fn junk_tokens_from_one_client_do_not_delay_another() {
    let pdb = fake_pdb().await;
    let p = Peerd::start(&Options::new(&pdb)).await;
    pdb.set_delay(Duration::from_millis(1500));
    let flood = client_from("127.0.0.1");
    let url = format!("{}/sessions", p.url);
    let junk: Vec<_> = (0..200)
        .map(|i| {
            let r = flood.get(&url).bearer_auth(format!("junk{i:04}"));
            tokio::spawn(async move { Resp::send(r).await })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(300)).await;
    // a token peerd never saw, from another address
    let started = Instant::now();
    let r = Resp::send(client_from("127.0.0.2").get(&url).bearer_auth(TOK_B)).await;
    let took = started.elapsed();
    r.expect(200);
    assert!(took < Duration::from_secs(3), "the new token took {took:?}");

    let (mut refused, mut limited) = (0, 0);
    let mut looked_up = None;
    for (i, j) in junk.into_iter().enumerate() {
        let r = j.await.unwrap();
        match r.status.as_u16() {
            401 => {
                refused += 1;
                looked_up.get_or_insert(i);
            }
            429 => {
                limited += 1;
                assert_eq!(r.error_names(), ["request"]);
                let wait: u64 = r.headers["retry-after"].to_str().unwrap().parse().unwrap();
                assert!((1..=60).contains(&wait), "{wait}");
            }
            s => panic!("junk token answered {s}: {}", r.text),
        }
    }
    // the default budget: 10 new tokens a minute per address
    assert!(refused <= 10, "{refused} PeeringDB lookups for junk");
    assert_eq!(refused + limited, 200);
    assert!(pdb.hits() <= 11, "{} calls to PeeringDB", pdb.hits());
    // a refused token is remembered: asking again costs PeeringDB nothing
    // (one that was looked up, not one the budget turned away: the budget
    // refills a token every 6 s, so that one may be looked up now)
    let i = looked_up.expect("some junk token was looked up");
    let hits = pdb.hits();
    let r = Resp::send(flood.get(&url).bearer_auth(format!("junk{i:04}"))).await;
    assert!(matches!(r.status.as_u16(), 401 | 429), "{}", r.text);
    assert_eq!(pdb.hits(), hits);
}

#[tokio::test]
async fn silent_half_sent_and_idle_connections_are_closed() {
    let pdb = fake_pdb().await;
    let mut o = Options::new(&pdb);
    o.limits_yaml =
        "  header_read_timeout_secs: 1\n  idle_timeout_secs: 2\n  max_connections: 20\n".into();
    let p = Peerd::start(&o).await;
    let addr: SocketAddr = p.hostport().parse().unwrap();
    // a keep-alive connection after one answer is idle: closed after ~2 s
    let mut kept = TcpStream::connect(addr).await.unwrap();
    kept.write_all(format!("GET {}/healthz HTTP/1.1\r\nHost: x\r\n\r\n", p.base()).as_bytes())
        .await
        .unwrap();
    assert_eq!(read_response(&mut kept).await.0, 200);
    let idle_since = Instant::now();
    // 30 connections at a cap of 20: silent, and half-sent heads
    let mut held = Vec::new();
    for i in 0..30 {
        let mut s = TcpStream::connect(addr).await.unwrap();
        if i % 2 == 1 {
            s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
                .await
                .unwrap();
        }
        held.push(s);
    }
    // a new client is still served at once
    let started = Instant::now();
    let r = Resp::send(reqwest::Client::new().get(format!("{}/healthz", p.url))).await;
    r.expect(200);
    assert!(started.elapsed() < Duration::from_secs(1));
    // all of them are gone within the header-read timeout (evicted sooner)
    let opened = Instant::now();
    for s in &mut held {
        assert!(closed_within(s, Duration::from_secs(3)).await, "still open");
    }
    assert!(opened.elapsed() < Duration::from_secs(3));
    // the idle keep-alive connection was evicted (oldest idle) or timed out
    assert!(closed_within(&mut kept, Duration::from_secs(3)).await);
    assert!(idle_since.elapsed() < Duration::from_secs(4));

    // idle timeout alone: one connection, no crowd
    let mut kept = TcpStream::connect(addr).await.unwrap();
    kept.write_all(format!("GET {}/healthz HTTP/1.1\r\nHost: x\r\n\r\n", p.base()).as_bytes())
        .await
        .unwrap();
    assert_eq!(read_response(&mut kept).await.0, 200);
    let idle_since = Instant::now();
    assert!(closed_within(&mut kept, Duration::from_secs(4)).await);
    let idle = idle_since.elapsed();
    assert!(idle >= Duration::from_millis(1500), "closed after {idle:?}");
}

#[tokio::test]
async fn at_the_cap_with_every_connection_busy_new_ones_get_503() {
    let pdb = fake_pdb().await;
    pdb.set_mode(Mode::Hang);
    let mut o = Options::new(&pdb);
    o.pdb_timeout_secs = 3;
    o.limits_yaml = "  max_connections: 2\n".into();
    let p = Peerd::start(&o).await;
    // two requests hang on PeeringDB: both connections are busy
    let busy: Vec<_> = ["127.0.0.3", "127.0.0.4"]
        .iter()
        .enumerate()
        .map(|(i, ip)| {
            let r = client_from(ip)
                .get(format!("{}/sessions", p.url))
                .bearer_auth(format!("hangs{i}"));
            tokio::spawn(async move { Resp::send(r).await })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut s = TcpStream::connect(p.hostport()).await.unwrap();
    let (status, head, body) = read_response(&mut s).await;
    assert_eq!(status, 503, "{head}{body}");
    assert!(head.contains("connection: close"), "{head}");
    assert!(body.contains("too many connections"), "{body}");
    for b in busy {
        b.await.unwrap().expect(503);
    }
    // once they are done, there is room again
    p.get("/sessions", &p.key).await.expect(200);
}

#[tokio::test]
async fn shutdown_finishes_answers_and_closes_idle_connections() {
    let pdb = fake_pdb().await;
    let mut p = Peerd::start(&Options::new(&pdb)).await;
    let addr: SocketAddr = p.hostport().parse().unwrap();
    // an idle keep-alive connection and a silent one
    let mut kept = TcpStream::connect(addr).await.unwrap();
    kept.write_all(format!("GET {}/healthz HTTP/1.1\r\nHost: x\r\n\r\n", p.base()).as_bytes())
        .await
        .unwrap();
    assert_eq!(read_response(&mut kept).await.0, 200);
    let mut silent = TcpStream::connect(addr).await.unwrap();
    // a request in flight (PeeringDB is slow to check the new token)
    pdb.set_delay(Duration::from_millis(1500));
    let mut busy = TcpStream::connect(addr).await.unwrap();
    busy.write_all(
        format!(
            "GET {}/sessions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOK_A}\r\n\r\n",
            p.base()
        )
        .as_bytes(),
    )
    .await
    .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let started = Instant::now();
    let st = p.terminate(Duration::from_secs(10)).await;
    assert!(st.success(), "{st:?}; log:\n{}", p.log());
    // well before any timeout (header read 10 s, idle 60 s)
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    let (status, head, _) = read_response(&mut busy).await;
    assert_eq!(status, 200, "{head}");
    assert!(head.contains("connection: close"), "{head}");
    assert!(closed_within(&mut busy, Duration::from_secs(1)).await);
    assert!(closed_within(&mut kept, Duration::from_secs(1)).await);
    assert!(closed_within(&mut silent, Duration::from_secs(1)).await);
}
