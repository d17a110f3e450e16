//! Telling the WebSub hub what changed: after each regeneration is served,
//! the feeds whose bytes changed and those that went away.

use std::sync::Arc;

use super::Publisher;
use crate::render::{self, PageId};

impl Publisher {
    /// Subscriptions restored from the hub's database may name feeds that
    /// went while herald was not running (a category deleted, a tag's
    /// last article gone): their subscribers are denied now.
    pub(super) fn deny_unserved_topics(&mut self) {
        let Some(hub) = &self.hub else {
            return;
        };
        let now = self.rendered_at;
        let gone: Vec<String> = hub
            .watched_paths()
            .into_iter()
            .filter(|path| {
                let served = self.resources.contains_key(path)
                    || PageId::at(&self.config, &self.catalog, path)
                        .is_some_and(|p| render::exists(&self.catalog, &p, now));
                !served
            })
            .collect();
        if !gone.is_empty() {
            self.gone_feeds.extend(gone);
            self.announce(Vec::new());
        }
    }

    /// Tells the WebSub hub of the feeds among `changed` and of those gone
    /// since the last announcement, once their new bytes are served.
    pub(super) fn announce(&mut self, changed: Vec<String>) {
        let gone = std::mem::take(&mut self.gone_feeds);
        let Some(hub) = &self.hub else {
            return;
        };
        if !hub.wants_updates() {
            return;
        }
        let mut updates = Vec::new();
        for path in changed {
            let Some(res) = self.resources.get(&path) else {
                continue;
            };
            if crate::config::Format::of_content_type(res.content_type).is_none() {
                continue;
            }
            updates.push(crate::websub::Update {
                path,
                content: Some(Arc::new(crate::websub::Content {
                    body: res.identity.body.clone(),
                    content_type: res.content_type,
                    link: res.link.clone(),
                })),
            });
        }
        for path in gone {
            let file = path.rsplit('/').next().unwrap_or("");
            let feed = crate::config::Format::ALL
                .iter()
                .any(|f| f.file_name() == file);
            if feed && !self.resources.contains_key(&path) {
                updates.push(crate::websub::Update {
                    path,
                    content: None,
                });
            }
        }
        hub.publish(updates);
    }
}
