//! A first load as the daemon makes it, without serving: every file of
//! the tree quickly indexed into a catalog builder, then the catalog
//! finished. For instruction counts of the load:
//!
//! ```sh
//! valgrind --tool=callgrind target/release/examples/quickload DIR/herald.toml
//! ```
//!
//! Prints the number of files read and of articles indexed.

use std::path::Path;
use std::process::ExitCode;

use herald::article::Depth;
use herald::catalog::CatalogBuilder;
use herald::config::Config;

fn main() -> ExitCode {
    let Some(path) = std::env::args().nth(1) else {
        eprintln!("usage: quickload CONFIG");
        return ExitCode::from(2);
    };
    let config = match Config::load(Path::new(&path)) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::FAILURE;
        }
    };
    let mut builder = CatalogBuilder::for_site(&config.site);
    let mut files = 0usize;
    let listing = herald::load::load_tree(&config, Depth::Quick, |_rel, result| {
        files += 1;
        if let Ok(reading) = result {
            builder.push(reading);
        }
    });
    let listing = match listing {
        Ok(l) => l,
        Err(e) => {
            eprintln!("{}: {e}", config.content.dir.display());
            return ExitCode::FAILURE;
        }
    };
    let catalog = builder.finish(listing.categories);
    println!("files={files} articles={}", catalog.len());
    ExitCode::SUCCESS
}
