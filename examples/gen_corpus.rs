//! Generates a deterministic test newsroom for benchmarks:
//!
//! ```sh
//! cargo run --release --example gen_corpus -- --n 100000 --seed 42 --out /tmp/corpus
//! ```
//!
//! 20 category folders; articles of 2–5 KB of mixed Chinese and English
//! Markdown with TOML front matter (title, date with +08:00 offset, author,
//! 2–5 tags, summary), a few paragraphs, a link and an image; about 10% are
//! plain-text exports in the seed layout, with a byline of two authors.
//! Tags are drawn from 5,000 and authors from 500 names, both Zipf-like
//! (a few on many articles, most on a few), as in a real newsroom. The same `--n` and `--seed` give
//! the same bytes. A `herald.toml` pointing at the corpus is written next
//! to it (`<out>/herald.toml`, content in `<out>/content`).

use std::fmt::Write as _;
use std::path::PathBuf;

/// A small deterministic PRNG (SplitMix64): no dependency, same output everywhere.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn pick<'a>(&mut self, items: &'a [&'a str]) -> &'a str {
        items[self.below(items.len() as u64) as usize]
    }
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

const ZH: [&str; 16] = [
    "市政府召开常务会议，研究部署近期重点工作",
    "会议强调，要坚持以人民为中心的发展思想",
    "全市上下要进一步统一思想、凝聚共识",
    "加快推进重点项目建设，确保按期完成年度目标",
    "持续优化营商环境，激发市场主体活力",
    "扎实做好民生保障工作，切实解决群众急难愁盼问题",
    "推动传统产业改造提升，培育壮大新兴产业",
    "加强生态环境保护，打好污染防治攻坚战",
    "完善公共服务体系，提升城市治理水平",
    "深化改革开放，增强高质量发展动力",
    "据了解，今年以来全市经济运行总体平稳",
    "记者从市统计局获悉，前三季度数据好于预期",
    "有关部门表示，将继续加大政策支持力度",
    "社区工作人员走访入户，了解居民实际需求",
    "活动吸引了众多市民参与，现场气氛热烈",
    "专家认为，这一举措将产生积极的社会效益",
];

const EN: [&str; 12] = [
    "The city council approved the plan after a lengthy debate on Tuesday.",
    "Officials said the project would be completed by the end of next year.",
    "Residents welcomed the decision, though some raised concerns about costs.",
    "The new policy aims to support small businesses and create local jobs.",
    "Traffic on the main bridge is expected to ease once the works are done.",
    "According to the statistics bureau, output grew faster than expected.",
    "Organisers said more than ten thousand visitors attended the festival.",
    "The museum will extend its opening hours during the summer holidays.",
    "Health authorities urged residents to get vaccinated before winter.",
    "Schools across the district will receive new equipment this term.",
    "The court ruled that the contract had been signed in good faith.",
    "Farmers reported a good harvest despite a dry spring.",
];

/// Surnames and given names: their 20 × 25 combinations are the corpus's
/// 500 authors.
const SURNAMES: [&str; 20] = [
    "王", "李", "张", "刘", "陈", "杨", "赵", "黄", "周", "吴", "徐", "孙", "胡", "朱", "高", "林",
    "何", "郭", "马", "罗",
];
const GIVEN: [&str; 25] = [
    "伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明",
    "超", "秀英", "霞", "平", "刚", "桂英", "晓梅", "立强", "金彥",
];
/// Words that tag names are made of: with a number, 5,000 distinct tags.
const TAG_WORDS: [&str; 10] = [
    "民生", "经济", "交通", "教育", "health", "economy", "culture", "城市", "环保", "科技",
];
const N_TAGS: usize = 5_000;
const N_AUTHORS: usize = SURNAMES.len() * GIVEN.len();

/// The `k`-th tag (0 is the most used).
fn tag_name(k: usize) -> String {
    let word = TAG_WORDS[k % TAG_WORDS.len()];
    if k < TAG_WORDS.len() {
        word.to_string()
    } else {
        format!("{word} {k}")
    }
}

/// The `k`-th author (0 writes the most).
fn author_name(k: usize) -> String {
    format!(
        "{}{}",
        SURNAMES[k % SURNAMES.len()],
        GIVEN[k / SURNAMES.len()]
    )
}

/// Draws ranks 0..n with probability proportional to 1/(rank+1) (Zipf,
/// exponent 1): a few tags on many articles, most on a few.
struct Zipf(Vec<f64>);

impl Zipf {
    fn new(n: usize) -> Zipf {
        let mut total = 0.0;
        Zipf(
            (1..=n)
                .map(|k| {
                    total += 1.0 / k as f64;
                    total
                })
                .collect(),
        )
    }

    fn draw(&self, rng: &mut Rng) -> usize {
        let total = *self.0.last().expect("at least one rank");
        let x = (rng.next() >> 11) as f64 / (1u64 << 53) as f64 * total;
        self.0.partition_point(|c| *c < x).min(self.0.len() - 1)
    }
}

fn paragraph(rng: &mut Rng, target: usize) -> String {
    let mut p = String::new();
    while p.len() < target {
        if rng.below(3) == 0 {
            p.push_str(rng.pick(&EN));
            p.push(' ');
        } else {
            p.push_str(rng.pick(&ZH));
            p.push('。');
        }
    }
    p
}

fn main() {
    let mut n: usize = 10_000;
    let mut seed: u64 = 42;
    let mut out = PathBuf::from("corpus");
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--n" => n = args.next().and_then(|v| v.parse().ok()).unwrap_or(n),
            "--seed" => seed = args.next().and_then(|v| v.parse().ok()).unwrap_or(seed),
            "--out" => out = args.next().map(PathBuf::from).unwrap_or(out),
            other => {
                eprintln!("unknown argument {other}; usage: gen_corpus --n N --seed S --out DIR");
                std::process::exit(2);
            }
        }
    }
    let content = out.join("content");
    for c in CATEGORIES {
        std::fs::create_dir_all(content.join(c)).expect("create category folder");
    }
    let mut rng = Rng(seed);
    let tags = Zipf::new(N_TAGS);
    let authors = Zipf::new(N_AUTHORS);
    // Dates spread over two years before 2026-01-01, distinct per article.
    let base = 1_704_067_200i64; // 2024-01-01T00:00:00Z
    for i in 0..n {
        let cat = CATEGORIES[i % CATEGORIES.len()];
        let ts = base + (i as i64) * (63_072_000 / n.max(1) as i64).max(1) + rng.below(600) as i64;
        let dt = chrono::DateTime::from_timestamp(ts, 0)
            .expect("in range")
            .with_timezone(&chrono::FixedOffset::east_opt(8 * 3600).expect("valid offset"));
        let size = 2000 + rng.below(3000) as usize;
        let title_zh = rng.pick(&ZH);
        let title = format!(
            "{}（第{}期）",
            &title_zh[..title_zh
                .char_indices()
                .nth(12)
                .map(|(i, _)| i)
                .unwrap_or(title_zh.len())],
            i
        );
        if i % 10 == 9 {
            // A plain-text export in the seed layout.
            let mut s = String::new();
            let _ = writeln!(s, "{title}");
            let _ = writeln!(s, "{}", &rng.pick(&ZH)[..30]);
            while s.len() < size {
                let _ = writeln!(s, "{}", paragraph(&mut rng, 400));
            }
            let _ = writeln!(
                s,
                "記者 {} {}",
                author_name(authors.draw(&mut rng)),
                author_name(authors.draw(&mut rng))
            );
            let _ = writeln!(s, "{}", dt.format("%Y-%m-%d %H:%M:%S"));
            let _ = writeln!(
                s,
                "{}",
                (dt - chrono::Duration::hours(2)).format("%Y-%m-%d %H:%M:%S")
            );
            let _ = writeln!(s, "本网 2006-2025 版權所有 新闻传媒中心");
            let _ = writeln!(s, "备案号：魯ICP備00000000號");
            std::fs::write(content.join(cat).join(format!("a{i:07}.txt")), s)
                .expect("write article");
        } else {
            let mut s = String::new();
            let _ = writeln!(s, "+++");
            let _ = writeln!(s, "title = \"{title}\"");
            let _ = writeln!(s, "date = {}", dt.format("%Y-%m-%dT%H:%M:%S%:z"));
            let _ = writeln!(s, "author = \"{}\"", author_name(authors.draw(&mut rng)));
            let n_tags = 2 + rng.below(4) as usize;
            let names: Vec<String> = (0..n_tags)
                .map(|_| format!("\"{}\"", tag_name(tags.draw(&mut rng))))
                .collect();
            let _ = writeln!(s, "tags = [{}]", names.join(", "));
            let _ = writeln!(s, "summary = \"{}\"", rng.pick(&ZH));
            let _ = writeln!(s, "+++");
            let _ = writeln!(s, "{}\n", paragraph(&mut rng, 300));
            let _ = writeln!(s, "![现场图片](images/a{i}.jpg)\n");
            let _ = writeln!(
                s,
                "更多内容请见[相关报道](https://news.example.cn/{cat}/{}.html)。\n",
                i / 2
            );
            while s.len() < size {
                let _ = writeln!(s, "{}\n", paragraph(&mut rng, 500));
            }
            std::fs::write(content.join(cat).join(format!("a{i:07}.md")), s)
                .expect("write article");
        }
    }
    let config = "[site]\ntitle = \"Corpus\"\nbase_url = \"http://127.0.0.1:8080\"\n[content]\ndir = \"content\"\n";
    std::fs::write(out.join("herald.toml"), config).expect("write config");
    eprintln!("wrote {n} articles to {}", content.display());
}
