//! The edit the benchmark helpers in `examples/` make to an article
//! (`#[path = "../bench/edit.rs"] mod edit;`): a new title and date in its
//! TOML front matter, the rest kept.

/// The article with its front-matter `title` and `date` lines replaced.
pub fn edited(text: &str, title: &str, date: &str) -> Option<String> {
    let mut out = String::with_capacity(text.len() + 64);
    let mut fences = 0;
    let (mut saw_title, mut saw_date) = (false, false);
    for line in text.split_inclusive('\n') {
        if line.trim_end() == "+++" {
            fences += 1;
        } else if fences == 1 && line.starts_with("title") && line.contains('=') {
            out.push_str(&format!("title = \"{title}\"\n"));
            saw_title = true;
            continue;
        } else if fences == 1 && line.starts_with("date") && line.contains('=') {
            out.push_str(&format!("date = {date}\n"));
            saw_date = true;
            continue;
        }
        out.push_str(line);
    }
    (saw_title && saw_date).then_some(out)
}
