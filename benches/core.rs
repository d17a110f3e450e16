//! Micro-benchmarks of the pure core (criterion): parsing one article of
//! each kind, rendering one 50-item feed in each format, and one
//! incremental update of a 100,000-article catalog.
//!
//! ```sh
//! cargo bench                      # all, about a minute
//! cargo bench -- incremental       # one group
//! ```
//!
//! Inputs are made here, not read from disk: the article texts follow the
//! layout of `examples/gen_corpus.rs` (2–5 KB of mixed Chinese and English,
//! TOML front matter, an image and a link; plain-text exports in the seed
//! layout), and the 100k catalog is built from `Article` structs so setup
//! takes well under a second. The end-to-end figures (cold start, memory,
//! edit → served latency, HTTP throughput) are `bench/run.sh`'s job.

use std::fmt::Write as _;
use std::hint::black_box;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use chrono::{DateTime, FixedOffset, TimeZone as _};
use criterion::{criterion_group, criterion_main, Criterion, SamplingMode, Throughput};
use herald::article::{self, Article, Entry};
use herald::catalog::Catalog;
use herald::config::{Config, Format};
use herald::http::snapshot::Resource;
use herald::render::{self, PageId};

/// SplitMix64: deterministic inputs without a dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[(self.next() % items.len() as u64) as usize]
    }
}

const ZH: [&str; 8] = [
    "市政府召开常务会议，研究部署近期重点工作",
    "会议强调，要坚持以人民为中心的发展思想",
    "加快推进重点项目建设，确保按期完成年度目标",
    "持续优化营商环境，激发市场主体活力",
    "扎实做好民生保障工作，切实解决群众急难愁盼问题",
    "据了解，今年以来全市经济运行总体平稳",
    "社区工作人员走访入户，了解居民实际需求",
    "专家认为，这一举措将产生积极的社会效益",
];

const EN: [&str; 4] = [
    "The city council approved the plan after a lengthy debate on Tuesday.",
    "Officials said the project would be completed by the end of next year.",
    "Residents welcomed the decision, though some raised concerns about costs.",
    "According to the statistics bureau, output grew faster than expected.",
];

fn paragraph(rng: &mut Rng, target: usize) -> String {
    let mut p = String::new();
    while p.len() < target {
        if rng.next().is_multiple_of(3) {
            p.push_str(rng.pick(&EN));
            p.push(' ');
        } else {
            p.push_str(rng.pick(&ZH));
            p.push('。');
        }
    }
    p
}

fn config() -> Config {
    let text = "[site]\ntitle = \"Bench News\"\nlink = \"https://news.example.cn\"\n\
                base_url = \"https://feeds.example.cn\"\n[content]\ndir = \"content\"\n";
    // The text above is a valid config; a failure here is a bug in this file.
    Config::parse(Path::new("/bench/herald.toml"), text).expect("bench config parses")
}

fn date(i: usize) -> DateTime<FixedOffset> {
    let zone = FixedOffset::east_opt(8 * 3600).expect("valid offset");
    // 2024-01-01 plus ten minutes per article: distinct, increasing dates.
    zone.timestamp_opt(1_704_067_200 + 600 * i as i64, 0)
        .single()
        .expect("in range")
}

/// The body of a corpus article: about 3.5 KB of Markdown.
fn markdown_body(rng: &mut Rng, i: usize) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "{}\n", paragraph(rng, 300));
    let _ = writeln!(s, "![现场图片](images/a{i}.jpg)\n");
    let _ = writeln!(
        s,
        "更多内容请见[相关报道](https://news.example.cn/politics/{}.html)。\n",
        i / 2
    );
    while s.len() < 3500 {
        let _ = writeln!(s, "{}\n", paragraph(rng, 500));
    }
    s
}

fn markdown_toml(i: usize) -> String {
    let mut rng = Rng(i as u64);
    let title = rng.pick(&ZH);
    let summary = rng.pick(&ZH);
    format!(
        "+++\ntitle = \"{title}（第{i}期）\"\ndate = {}\nauthor = \"王小明\"\n\
         tags = [\"民生\", \"economy\"]\nsummary = \"{summary}\"\n+++\n{}",
        date(i).format("%Y-%m-%dT%H:%M:%S%:z"),
        markdown_body(&mut rng, i)
    )
}

fn markdown_yaml(i: usize) -> String {
    let mut rng = Rng(i as u64);
    let title = rng.pick(&ZH);
    let summary = rng.pick(&ZH);
    format!(
        "---\ntitle: \"{title}（第{i}期）\"\ndate: \"{}\"\nauthor: 王小明\n\
         tags:\n  - 民生\n  - economy\nsummary: \"{summary}\"\n---\n{}",
        date(i).format("%Y-%m-%dT%H:%M:%S%:z"),
        markdown_body(&mut rng, i)
    )
}

/// A plain-text export in the seed layout: title, subtitle, paragraphs,
/// byline, timestamps and footer.
fn plain_text(i: usize) -> String {
    let mut rng = Rng(i as u64);
    let mut s = String::new();
    let _ = writeln!(s, "{}（第{i}期）", rng.pick(&ZH));
    let _ = writeln!(s, "研究招商引资、就業、培育發展新質生產力等工作");
    while s.len() < 3500 {
        let _ = writeln!(s, "{}", paragraph(&mut rng, 400));
    }
    let _ = writeln!(s, "記者 林金彥 楊光");
    let _ = writeln!(s, "{}", date(i).format("%Y-%m-%d %H:%M:%S"));
    let _ = writeln!(s, "{}", date(i).format("%Y-%m-%d 08:00:00"));
    let _ = writeln!(s, "本网 2006-2025 版權所有 新闻传媒中心");
    let _ = writeln!(s, "备案号：魯ICP備00000000號");
    s
}

fn parse_one(config: &Config, rel: &str, text: &str) -> Article {
    let path = Path::new("/bench/content").join(rel);
    // The generated texts are valid articles; a failure is a bug in this file.
    article::parse(&path, rel, text, None, config)
        .expect("bench article parses")
        .article
}

fn bench_parse(c: &mut Criterion) {
    let config = config();
    let cases = [
        ("markdown_toml", "politics/a0000007.md", markdown_toml(7)),
        ("markdown_yaml", "politics/a0000007.md", markdown_yaml(7)),
        ("plain_text", "politics/a0000007.txt", plain_text(7)),
    ];
    let mut group = c.benchmark_group("parse");
    for (name, rel, text) in &cases {
        let path = Path::new("/bench/content").join(rel);
        group.throughput(Throughput::Bytes(text.len() as u64));
        group.bench_function(*name, |b| {
            b.iter(|| article::parse(&path, rel, black_box(text), None, &config))
        });
    }
    group.finish();
}

fn now() -> DateTime<FixedOffset> {
    DateTime::parse_from_rfc3339("2030-01-01T00:00:00+00:00").expect("valid date")
}

fn bench_render(c: &mut Criterion) {
    let config = config();
    let mut catalog = Catalog::new();
    for i in 0..50 {
        // One in ten is a plain-text export, as in the corpus.
        let a = if i % 10 == 9 {
            parse_one(&config, &format!("politics/a{i:07}.txt"), &plain_text(i))
        } else {
            parse_one(&config, &format!("politics/a{i:07}.md"), &markdown_toml(i))
        };
        catalog.upsert(a);
    }
    let mut group = c.benchmark_group("render_feed_50");
    for f in Format::ALL {
        let page = PageId::Feed(Some("politics".into()), f);
        let size = render::render(&config, &catalog, &page, now()).body.len();
        group.throughput(Throughput::Bytes(size as u64));
        let name = match f {
            Format::Rss => "rss",
            Format::Atom => "atom",
            Format::Json => "json",
        };
        group.bench_function(name, |b| {
            b.iter(|| render::render(&config, &catalog, black_box(&page), now()))
        });
    }
    group.finish();

    // What the daemon does with each rendered page before serving it:
    // hash it and prepare the gzip and brotli variants.
    let rss = render::render(
        &config,
        &catalog,
        &PageId::Feed(Some("politics".into()), Format::Rss),
        now(),
    );
    let mut group = c.benchmark_group("prepare_feed_50_rss");
    group.throughput(Throughput::Bytes(rss.body.len() as u64));
    group.bench_function("gzip", |b| {
        b.iter(|| herald::http::snapshot::gzip(black_box(&rss.body)))
    });
    group.bench_function("brotli", |b| {
        b.iter(|| herald::http::snapshot::brotli(black_box(&rss.body)))
    });
    let wall = SystemTime::now();
    group.bench_function("resource_prepare", |b| {
        b.iter(|| Resource::prepare(black_box(rss.clone()), None, wall))
    });
    group.finish();
}

const CATEGORIES: [&str; 20] = [
    "politics",
    "business",
    "culture",
    "sports",
    "tech",
    "health",
    "education",
    "environment",
    "transport",
    "housing",
    "社会",
    "法治",
    "农业",
    "旅游",
    "科技",
    "民生",
    "城建",
    "教育",
    "文化",
    "体育",
];

/// A synthetic article as the parser would give it, sharing one rendered
/// body (the catalog and renderers never look into it).
fn synthetic(i: usize, date: DateTime<FixedOffset>, title: String, body: &Arc<str>) -> Article {
    let category = CATEGORIES[i % CATEGORIES.len()];
    let slug = format!("a{i:07}");
    let id = format!(
        "tag:news.example.cn,{}:{}/{slug}",
        date.format("%Y-%m-%d"),
        herald::url_segment::encode_segment(category)
    );
    Article {
        link: format!(
            "https://news.example.cn/{}/{slug}.html",
            herald::url_segment::encode_segment(category)
        ),
        entry: Entry::new(
            format!("{category}/{slug}.md").into(),
            category.into(),
            slug,
            (date, date),
            id,
            false,
        ),
        title,
        summary: ZH[i % ZH.len()].to_string(),
        content_html: Arc::clone(body),
        authors: vec!["王小明".into()],
        tags: vec!["民生".into(), "economy".into()],
        image: Some(format!("https://news.example.cn/images/a{i}.jpg")),
        lang: None,
    }
}

/// One edit of a 100,000-article catalog: the article is replaced by a
/// version dated newest (so it enters its category's window), then the
/// affected pages are re-rendered, as the daemon does after a file event.
fn bench_incremental(c: &mut Criterion) {
    const N: usize = 100_000;
    let config = config();
    let body: Arc<str> = parse_one(&config, "politics/a0000007.md", &markdown_toml(7)).content_html;
    let window = herald::load::window_size(&config) * CATEGORIES.len();
    // Each benchmark gets a fresh catalog (about half a second to build),
    // so no benchmark measures the state the previous one left behind.
    let fresh = || {
        let mut catalog = Catalog::new();
        for i in 0..N {
            let a = synthetic(i, date(i), format!("第{i}期"), &body);
            // The daemon holds bodies only for the feed windows (the newest
            // articles here); every other article is indexed by its metadata.
            if i >= N - window {
                catalog.upsert(a);
            } else {
                catalog.upsert_entry(a.entry);
            }
        }
        catalog
    };
    // Edit k replaces another article (a stride through the whole catalog)
    // and dates it after every earlier one, one second apart: a million
    // edits stay years before `now()`, so every edit is published.
    let edit = |catalog: &mut Catalog, k: &mut usize| {
        *k += 1;
        let i = (*k * 7919) % N;
        let when = date(N) + chrono::Duration::seconds(*k as i64);
        catalog.upsert(synthetic(i, when, format!("edit {k}"), &body))
    };
    let pages_of =
        |catalog: &Catalog, change| render::affected_pages(&config, catalog, &change, now());

    let mut group = c.benchmark_group("incremental_100k");
    // Iterations that take milliseconds: the same count in every sample,
    // so the group stays within seconds.
    group.sampling_mode(SamplingMode::Flat).sample_size(10);
    let (mut catalog, mut k) = (fresh(), 0);
    group.bench_function("upsert", |b| b.iter(|| edit(&mut catalog, &mut k)));
    let (mut catalog, mut k) = (fresh(), 0);
    group.bench_function("upsert_render_category_feeds", |b| {
        b.iter(|| {
            let change = edit(&mut catalog, &mut k);
            let pages = pages_of(&catalog, change);
            pages
                .iter()
                .filter(|p| matches!(p, PageId::Feed(Some(_), _)))
                .map(|p| render::render(&config, &catalog, p, now()).body.len())
                .sum::<usize>()
        })
    });
    // OPML is re-rendered on every site change; its date is the newest
    // `updated` of the whole site.
    let catalog = fresh();
    group.bench_function("render_opml", |b| {
        b.iter(|| render::render(&config, &catalog, black_box(&PageId::Opml), now()))
    });
    let (mut catalog, mut k) = (fresh(), 0);
    group.bench_function("upsert_render_affected", |b| {
        b.iter(|| {
            let change = edit(&mut catalog, &mut k);
            let pages = pages_of(&catalog, change);
            pages
                .iter()
                .map(|p| render::render(&config, &catalog, p, now()).body.len())
                .sum::<usize>()
        })
    });
    // What the publisher does per page besides rendering: hash, gzip and
    // brotli (`Resource::prepare`), which the edit → served latency pays.
    let wall = SystemTime::now();
    let (mut catalog, mut k) = (fresh(), 0);
    group.bench_function("upsert_render_prepare_affected", |b| {
        b.iter(|| {
            let change = edit(&mut catalog, &mut k);
            let pages = pages_of(&catalog, change);
            pages
                .iter()
                .map(|p| {
                    let r =
                        Resource::prepare(render::render(&config, &catalog, p, now()), None, wall);
                    r.identity.body.len() + r.gzip.as_ref().map_or(0, |v| v.body.len())
                })
                .sum::<usize>()
        })
    });
    group.finish();
}

fn settings() -> Criterion {
    // About 5 s per benchmark, so a full `cargo bench` stays near a minute.
    Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .sample_size(30)
}

criterion_group! {
    name = benches;
    config = settings();
    targets = bench_parse, bench_render, bench_incremental
}
criterion_main!(benches);
