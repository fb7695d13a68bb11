//! Shared by the benches: request shapes, generated bodies, corpus loading.
#![allow(dead_code)]

use std::path::PathBuf;

use rampart::{Phase, Scratch, Transaction};
use serde_json::Value;

/// One request as a host feeds it.
pub struct Request {
    pub method: String,
    pub uri: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Request {
    pub fn bytes(&self) -> usize {
        self.method.len()
            + self.uri.len()
            + self.headers.iter().map(|(n, v)| n.len() + v.len()).sum::<usize>()
            + self.body.len()
    }
}

/// Feeds and evaluates one request (headers phase, then body phase).
pub fn evaluate(tx: &mut Transaction, scratch: &mut Scratch, r: &Request) -> bool {
    tx.reset();
    tx.set_client("127.0.0.1");
    tx.set_request(&r.method, &r.uri, "HTTP/1.1");
    for (n, v) in &r.headers {
        tx.add_header(n, v);
    }
    if tx.evaluate(Phase::RequestHeaders, scratch).would_block() {
        return true;
    }
    tx.append_body(&r.body);
    tx.evaluate(Phase::RequestBody, scratch).would_block()
}

fn browser_headers() -> Vec<(String, String)> {
    [
        ("Host", "shop.example.com"),
        (
            "User-Agent",
            "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36",
        ),
        ("Accept", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"),
        ("Accept-Language", "en-US,en;q=0.9"),
        ("Accept-Encoding", "gzip, deflate, br"),
        ("Referer", "https://shop.example.com/catalog"),
        ("Cookie", "session=4f2a9c1e7b; theme=dark; consent=1"),
        ("Connection", "keep-alive"),
    ]
    .into_iter()
    .map(|(n, v)| (n.to_owned(), v.to_owned()))
    .collect()
}

/// A benign GET with eight headers and five query arguments.
pub fn benign_get() -> Request {
    Request {
        method: "GET".into(),
        uri: "/products/search?q=running+shoes&size=42&color=blue&sort=price_asc&page=2".into(),
        headers: browser_headers(),
        body: Vec::new(),
    }
}

/// A benign form POST of about 1 KiB.
pub fn form_post_1k() -> Request {
    let mut body = String::from("name=Ada+Lovelace&email=ada%40example.com&subject=Order+question&message=");
    while body.len() < 1000 {
        body.push_str("Hello%2C+I+ordered+two+pairs+of+shoes+last+week+and+would+like+to+change+the+size.+");
    }
    let mut headers = browser_headers();
    headers.push(("Content-Type".into(), "application/x-www-form-urlencoded".into()));
    Request { method: "POST".into(), uri: "/contact".into(), headers, body: body.into_bytes() }
}

/// A deterministic pseudo-random source (splitmix64).
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    pub fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[(self.next_u64() % items.len() as u64) as usize]
    }
}

const WORDS: &[&str] = &[
    "order",
    "shipping",
    "delivered",
    "customer",
    "great",
    "quality",
    "size",
    "color",
    "blue",
    "return",
    "refund",
    "the",
    "and",
    "with",
    "for",
    "from",
    "select",
    "union",
    "or",
    "table",
    "review",
    "thanks",
    "package",
    "fast",
    "O'Brien",
    "José",
    "Zürich",
    "北京",
    "price",
    "discount",
    "gift",
    "box",
    "weekend",
    "morning",
    "evening",
];

/// A benign JSON body of about `size` bytes: an array of order objects with
/// ids, numbers, names, free text and nested items.
pub fn json_body(size: usize) -> Vec<u8> {
    let mut rng = Rng::new(size as u64);
    let mut orders = Vec::new();
    let mut len = 2;
    let mut id = 1000;
    while len < size {
        id += 1;
        let note: Vec<&str> = (0..12).map(|_| rng.pick(WORDS)).collect();
        let order = serde_json::json!({
            "id": id,
            "customer": {"name": format!("{} {}", rng.pick(WORDS), rng.pick(WORDS)), "email": format!("user{id}@example.com")},
            "items": [
                {"sku": format!("SKU-{}", rng.next_u64() % 100000), "qty": rng.next_u64() % 5 + 1, "price": (rng.next_u64() % 10000) as f64 / 100.0},
                {"sku": format!("SKU-{}", rng.next_u64() % 100000), "qty": 1, "price": 9.99}
            ],
            "note": note.join(" "),
            "express": rng.next_u64().is_multiple_of(2),
            "coupon": null
        });
        let text = order.to_string();
        len += text.len() + 1;
        orders.push(order);
    }
    serde_json::to_vec(&serde_json::json!({ "orders": orders })).expect("serializable")
}

/// A benign urlencoded body of about `size` bytes.
pub fn urlencoded_body(size: usize) -> Vec<u8> {
    let mut rng = Rng::new(7 + size as u64);
    let mut body = String::new();
    let mut n = 0;
    while body.len() < size {
        if !body.is_empty() {
            body.push('&');
        }
        let words: Vec<&str> = (0..8).map(|_| rng.pick(&WORDS[..24])).collect();
        body.push_str(&format!("field{n}={}", words.join("+")));
        n += 1;
    }
    body.into_bytes()
}

/// A POST of `body` with `content_type`.
pub fn post(uri: &str, content_type: &str, body: Vec<u8>) -> Request {
    let mut headers = browser_headers();
    headers.push(("Content-Type".into(), content_type.into()));
    Request { method: "POST".into(), uri: uri.into(), headers, body }
}

/// The shared corpus folder, if present.
pub fn corpus_dir() -> Option<PathBuf> {
    let dir = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/corpus"));
    dir.is_dir().then_some(dir)
}

fn text(v: &Value) -> String {
    v.as_str().map_or_else(|| v.to_string(), str::to_owned)
}

/// The requests of a corpus file (at most `limit`), or None when absent.
pub fn corpus(name: &str, limit: usize) -> Option<Vec<Request>> {
    let path = corpus_dir()?.join(name);
    let content = std::fs::read_to_string(&path).ok()?;
    let mut out = Vec::new();
    for line in content.lines().filter(|l| !l.trim().is_empty()).take(limit) {
        let r: Value = serde_json::from_str(line).ok()?;
        let mut body = Vec::new();
        if let Some(b64) = r["body_b64"].as_str() {
            rampart::base64_decode_strict(b64.as_bytes(), &mut body);
        } else if let Some(b) = r["body"].as_str() {
            body.extend_from_slice(b.as_bytes());
        }
        let headers = r["headers"]
            .as_array()
            .map(|hs| hs.iter().map(|h| (text(&h[0]), text(&h[1]))).collect())
            .unwrap_or_default();
        out.push(Request { method: text(&r["method"]), uri: text(&r["uri"]), headers, body });
    }
    Some(out)
}
