//! The terms of a first load, built in bulk from its entries once the
//! catalog serves (see [`super::builder::Deferred`]): every name looked
//! up among the spellings met so far, the uses grouped by term, each
//! term's articles sorted on all cores.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use rustc_hash::FxHashMap;

use super::term::{terms_of, Numbers};
use super::{Key, Term};
use crate::article::Entry;
use crate::taxonomy;

/// The place, in the site's order, of an article that has none: a draft.
pub(super) const NO_PLACE: u32 = u32::MAX;

/// The numbers and the terms of `entries`, where `places[i]` is the place
/// of `entries[i]` in `site` ([`NO_PLACE`] for a draft). An article's
/// number is its place: a term's numbers sorted as integers are then in
/// feed order. Articles in no term give their number up.
pub(super) fn terms_of_entries(
    entries: &[&Entry],
    places: &[u32],
    site: &BTreeSet<Key>,
) -> (Numbers, [BTreeMap<String, Term>; 2]) {
    let mut spellings: [Spellings; 2] = Default::default();
    // Sized first: at a million articles a vector grown by doubling
    // would hold its old and new buffers, tens of MiB, at once.
    let mut uses: [Vec<(u32, u32)>; 2] = [Entry::tags, Entry::authors].map(|names| {
        let n = entries
            .iter()
            .zip(places)
            .filter(|(_, &place)| place != NO_PLACE)
            .map(|(entry, _)| names(entry).len())
            .sum();
        Vec::with_capacity(n)
    });
    let mut in_terms = vec![false; site.len()];
    for (entry, &place) in entries.iter().zip(places) {
        if place == NO_PLACE {
            continue;
        }
        for (tax, name) in terms_of(entry) {
            let t = tax.index();
            uses[t].push((spellings[t].slot_of(name), place));
            if let Some(is) = in_terms.get_mut(place as usize) {
                *is = true;
            }
        }
    }
    let [tags, authors] = spellings;
    let [tag_uses, author_uses] = uses;
    let (keys, (tags, authors)) = rayon::join(
        || {
            site.iter()
                .zip(in_terms)
                .map(|(key, is)| is.then(|| key.clone()))
                .collect::<Vec<Option<Key>>>()
        },
        || {
            rayon::join(
                || term_index(tags, tag_uses),
                || term_index(authors, author_uses),
            )
        },
    );
    (Numbers::sorted(keys), [tags, authors])
}

/// A spelling of a term as a first load finds it.
#[derive(Debug)]
struct Spelling {
    name: Arc<str>,
    /// The term: a place in `Spellings::terms`.
    term: u32,
}

/// A spelling as [`Spellings`] finds it by hash.
#[derive(Debug, Clone, Copy)]
struct HashedSpelling {
    /// Its place in `Spellings::spellings`.
    slot: u32,
    /// Where its text lies in `Spellings::text`.
    start: u32,
    len: u32,
}

/// One taxonomy's spellings and terms as a first load meets them.
#[derive(Debug, Default)]
struct Spellings {
    /// The terms' keys, in the order first seen.
    terms: Vec<String>,
    /// Each spelling seen, with its term (a place in `terms`). A term's
    /// key is worked out once per spelling.
    spellings: Vec<Spelling>,
    /// Each spelling's place in `spellings`.
    spelling_at: FxHashMap<Arc<str>, u32>,
    /// A spelling by the hash of its text ([`name_hash`]; the first
    /// spelling seen with a hash): its place in `spellings`, and where its
    /// text lies in `text`, to check it against. Hundreds of thousands of
    /// names are looked up among a few thousand spellings: this map and
    /// `text` stay in cache, where the spellings' own allocations would
    /// not.
    by_hash: FxHashMap<u64, HashedSpelling>,
    /// The text of every spelling, one after another.
    text: String,
    /// Each term's place in `terms`, by key.
    term_at: FxHashMap<String, u32>,
}

impl Spellings {
    /// The place in `spellings` of the spelling `name`: by its hash,
    /// checked against its text; else [`Spellings::spelling_slot`].
    fn slot_of(&mut self, name: &str) -> u32 {
        let hash = name_hash(name);
        if let Some(h) = self.by_hash.get(&hash) {
            if self.text.get(h.start as usize..(h.start + h.len) as usize) == Some(name) {
                return h.slot;
            }
        }
        let slot = self.spelling_slot(name);
        if let std::collections::hash_map::Entry::Vacant(e) = self.by_hash.entry(hash) {
            // The spellings' text is far shorter than 4 GiB.
            let start = self.text.len() as u32;
            self.text.push_str(name);
            e.insert(HashedSpelling {
                slot,
                start,
                len: name.len() as u32,
            });
        }
        slot
    }

    /// The place in `spellings` of the spelling `name`, added (with its
    /// term, added too when new) the first time it is seen.
    fn spelling_slot(&mut self, name: &str) -> u32 {
        if let Some(&slot) = self.spelling_at.get(name) {
            return slot;
        }
        let k = taxonomy::key(name);
        let term = match self.term_at.get(&k) {
            Some(&at) => at,
            None => {
                let at = self.terms.len() as u32;
                self.term_at.insert(k.clone(), at);
                self.terms.push(k);
                at
            }
        };
        let slot = self.spellings.len() as u32;
        let name: Arc<str> = Arc::from(name);
        self.spellings.push(Spelling {
            name: Arc::clone(&name),
            term,
        });
        self.spelling_at.insert(name, slot);
        slot
    }
}

/// The hash a spelling is first looked up by.
fn name_hash(name: &str) -> u64 {
    use std::hash::Hasher;
    let mut h = rustc_hash::FxHasher::default();
    h.write(name.as_bytes());
    h.finish()
}

/// A taxonomy's terms from its spellings and `uses` (spelling, article
/// number) in any order. The uses are counted and grouped by term in two
/// passes over them (a counting sort), then each term's numbers sorted on
/// all cores.
fn term_index(spellings: Spellings, uses: Vec<(u32, u32)>) -> BTreeMap<String, Term> {
    use rayon::prelude::*;
    let Spellings {
        terms: keys,
        spellings,
        ..
    } = spellings;
    let mut per_spelling = vec![0u32; spellings.len()];
    for &(s, _) in &uses {
        per_spelling[s as usize] += 1;
    }
    // Where each term's numbers start in one buffer, and its spellings.
    let mut starts = vec![0usize; keys.len() + 1];
    let mut names: Vec<BTreeMap<Arc<str>, u32>> = vec![BTreeMap::new(); keys.len()];
    for (spelling, &count) in spellings.iter().zip(&per_spelling) {
        starts[spelling.term as usize + 1] += count as usize;
        names[spelling.term as usize].insert(Arc::clone(&spelling.name), count);
    }
    for i in 1..starts.len() {
        starts[i] += starts[i - 1];
    }
    let mut next = starts.clone();
    let mut numbers = vec![0u32; uses.len()];
    for &(s, n) in &uses {
        let term = spellings[s as usize].term as usize;
        numbers[next[term]] = n;
        next[term] += 1;
    }
    // (Let go before the terms copy their numbers out: a million
    // articles give millions of uses.)
    drop(uses);
    // Each term's slice, cut off the buffer in turn.
    let mut slices = Vec::with_capacity(keys.len());
    let mut rest = &mut numbers[..];
    for w in starts.windows(2) {
        let (mine, after) = rest.split_at_mut(w[1] - w[0]);
        slices.push(mine);
        rest = after;
    }
    slices
        .into_par_iter()
        .zip(names)
        .zip(keys)
        .map(|((items, spellings), key)| {
            items.sort_unstable();
            let mut items = items.to_vec();
            items.dedup();
            (key, Term { items, spellings })
        })
        .collect::<Vec<_>>()
        .into_iter()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_spelling_whose_hash_another_holds_is_still_its_own() {
        let mut s = Spellings::default();
        let ev = s.slot_of("EV");
        // "财政" as if its hash were the one "EV" was filed under.
        let filed = s.by_hash[&name_hash("EV")];
        s.by_hash.insert(name_hash("财政"), filed);
        let fiscal = s.slot_of("财政");
        assert_ne!(fiscal, ev);
        assert_eq!(s.slot_of("财政"), fiscal);
        assert_eq!(s.slot_of("EV"), ev);
        let lower = s.slot_of("ev");
        let term = |slot: u32| s.terms[s.spellings[slot as usize].term as usize].as_str();
        assert_eq!([term(ev), term(lower), term(fiscal)], ["ev", "ev", "财政"]);
        assert_eq!(&*s.spellings[fiscal as usize].name, "财政");
    }
}
