//! The versions of one kind of component. The live set is immutable and published
//! through `arc-swap`: a reader takes a snapshot and keeps it, so a change never affects a
//! call in flight; a change builds the next set whole, which may refuse it (two
//! operations on one route), and only then swaps it in. Beside the live set: the earlier
//! versions of each name, for rollback (at most `keep`), and the version each name has on
//! its own — built in, or from a directory: what loads at start without the admin API —
//! for restoring it after an unload.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};

use arc_swap::ArcSwap;

use super::{Kind, LoadError};
use crate::policy::Source;

/// A version of a component, as the store keeps it.
pub trait Versioned: Send + Sync + 'static {
    const KIND: Kind;

    fn name(&self) -> &str;
    /// The version shown: an operation's own, a worker's the start of its content hash.
    fn version(&self) -> &str;
    /// Hex SHA-256 of the component's bytes.
    fn content_hash(&self) -> &str;
    fn source(&self) -> Source;
    /// Where it came from: `builtin:echo`, a file path, `upload`.
    fn origin(&self) -> &str;
    /// It stopped being live.
    fn retire(&self) {}
    /// It is live again (a rollback or a restore to it).
    fn reinstate(&self) {}
}

/// A version's revision: the start of its content hash (versions an author does not bump
/// still differ here).
pub fn revision<T: Versioned + ?Sized>(version: &T) -> &str {
    let hash = version.content_hash();
    &hash[..12.min(hash.len())]
}

/// The live versions of one kind, one per name, sorted by name.
pub trait LiveSet: Default + Send + Sync + Sized + 'static {
    type Item: Versioned;

    /// Every live version, sorted by name.
    fn items(&self) -> &[Arc<Self::Item>];

    /// The set of `items`, sorted by name; `changed` names the one added or swapped in.
    /// Refused when they cannot be live together.
    fn build(items: Vec<Arc<Self::Item>>, changed: Option<&str>) -> Result<Self, LoadError>;

    /// The live version of `name`.
    fn find(&self, name: &str) -> Option<&Arc<Self::Item>> {
        let items = self.items();
        items
            .binary_search_by(|item| item.name().cmp(name))
            .ok()
            .map(|index| &items[index])
    }
}

/// What [`VersionStore::add`] did.
#[derive(Debug)]
pub enum Added<T> {
    Published(Arc<T>),
    /// The name is disabled by configuration; nothing was published.
    Disabled(String),
}

/// What [`VersionStore::put`] did.
#[derive(Debug)]
pub enum Put<T> {
    Added(Arc<T>),
    Replaced(Swapped<T>),
    /// The live version of its name is this very code from this very origin: nothing was
    /// swapped (nor kept twice in the history).
    Unchanged(Arc<T>),
    /// The name is disabled by configuration; nothing was published.
    Disabled(String),
}

impl<T> Put<T> {
    /// The version live under the name now; `None` when disabled.
    pub fn live(&self) -> Option<&Arc<T>> {
        match self {
            Put::Added(live) | Put::Unchanged(live) => Some(live),
            Put::Replaced(swapped) => Some(&swapped.live),
            Put::Disabled(_) => None,
        }
    }
}

/// What a replacement or rollback swapped.
#[derive(Debug)]
pub struct Swapped<T> {
    pub previous: Arc<T>,
    pub live: Arc<T>,
}

impl<T> Clone for Swapped<T> {
    fn clone(&self) -> Self {
        Swapped {
            previous: self.previous.clone(),
            live: self.live.clone(),
        }
    }
}

/// Hooks for what follows a change.
pub struct Upkeep<S> {
    /// Each live set, once published.
    pub published: Box<dyn Fn(&S) + Send + Sync>,
    /// The content hash of code no live, kept or restorable version has any more (and that
    /// did not come with the binary): its compile cache entry can go.
    pub dropped: Box<dyn Fn(&str) + Send + Sync>,
}

impl<S> Default for Upkeep<S> {
    fn default() -> Self {
        Upkeep {
            published: Box::new(|_| {}),
            dropped: Box::new(|_| {}),
        }
    }
}

type History<T> = HashMap<String, VecDeque<Arc<T>>>;

/// The live set of one kind, the earlier versions kept and the versions to restore.
pub struct VersionStore<S: LiveSet> {
    live: ArcSwap<S>,
    /// Held by each change from reading the live set to publishing the next one.
    changes: Mutex<()>,
    /// Earlier versions of each name, oldest first, for rollback.
    history: Mutex<History<S::Item>>,
    /// The version each name has on its own (not an upload), the last one made live.
    bases: Mutex<HashMap<String, Arc<S::Item>>>,
    /// Earlier versions kept per name.
    keep: usize,
    /// Names the configuration disables: loading them publishes nothing.
    disabled: Vec<String>,
    upkeep: Upkeep<S>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}

impl<S: LiveSet> VersionStore<S> {
    pub fn new(keep: usize, disabled: Vec<String>, upkeep: Upkeep<S>) -> VersionStore<S> {
        VersionStore {
            live: ArcSwap::from_pointee(S::default()),
            changes: Mutex::new(()),
            history: Mutex::default(),
            bases: Mutex::default(),
            keep,
            disabled,
            upkeep,
        }
    }

    /// The live set; keep it for the duration of a call.
    pub fn snapshot(&self) -> Arc<S> {
        self.live.load_full()
    }

    /// The live version of `name`.
    pub fn get(&self, name: &str) -> Option<Arc<S::Item>> {
        self.live.load().find(name).cloned()
    }

    fn kind() -> Kind {
        <S::Item as Versioned>::KIND
    }

    fn not_loaded(name: &str) -> LoadError {
        LoadError::NotLoaded {
            kind: Self::kind(),
            name: name.to_owned(),
        }
    }

    fn is_disabled(&self, item: &S::Item) -> bool {
        let disabled = self.disabled.iter().any(|name| name == item.name());
        if disabled {
            tracing::info!(kind = %Self::kind(), name = item.name(), origin = item.origin(), "disabled by configuration");
        }
        disabled
    }

    /// Publish `item` under a name not loaded. Refused, with nothing changed, if the name
    /// is taken or the set refuses it.
    pub fn add(&self, item: Arc<S::Item>) -> Result<Added<S::Item>, LoadError> {
        if self.is_disabled(&item) {
            return Ok(Added::Disabled(item.name().to_owned()));
        }
        let _change = lock(&self.changes);
        self.insert(item.clone())?;
        Ok(Added::Published(item))
    }

    /// Put `item` in place of the live version of `name`, which is kept for rollback.
    /// Calls in flight finish on the version they started with (they hold it).
    pub fn replace(&self, name: &str, item: Arc<S::Item>) -> Result<Swapped<S::Item>, LoadError> {
        if item.name() != name {
            return Err(LoadError::NameMismatch {
                kind: Self::kind(),
                expected: name.to_owned(),
                found: item.name().to_owned(),
            });
        }
        let _change = lock(&self.changes);
        self.replace_live(item)
    }

    /// Publish `item`: added when its name is new, replacing the live version otherwise.
    pub fn put(&self, item: Arc<S::Item>) -> Result<Put<S::Item>, LoadError> {
        if self.is_disabled(&item) {
            return Ok(Put::Disabled(item.name().to_owned()));
        }
        let _change = lock(&self.changes);
        if let Some(live) = self.live.load().find(item.name()) {
            if live.origin() == item.origin() && live.content_hash() == item.content_hash() {
                return Ok(Put::Unchanged(live.clone()));
            }
            return self.replace_live(item).map(Put::Replaced);
        }
        self.insert(item.clone())?;
        Ok(Put::Added(item))
    }

    /// Return `name` to its previous version; the version live until now is dropped.
    pub fn rollback(&self, name: &str) -> Result<Swapped<S::Item>, LoadError> {
        let _change = lock(&self.changes);
        let earlier = lock(&self.history)
            .get_mut(name)
            .and_then(VecDeque::pop_back);
        let Some(earlier) = earlier else {
            if self.live.load().find(name).is_none() {
                return Err(Self::not_loaded(name));
            }
            return Err(LoadError::NoEarlierVersion {
                kind: Self::kind(),
                name: name.to_owned(),
            });
        };
        match self.swap(earlier.clone()) {
            Ok(previous) => {
                self.forget([previous.clone()]);
                tracing::info!(kind = %Self::kind(), name, to = earlier.version(), revision = revision(&*earlier), "rolled back");
                Ok(Swapped {
                    previous,
                    live: earlier,
                })
            }
            Err(error) => {
                // Kept for a later try (its route may be free again then).
                self.remember(earlier);
                Err(error)
            }
        }
    }

    /// Unload `name`; its history goes with it, except the version it has on its own,
    /// which [`VersionStore::restore`] brings back.
    pub fn remove(&self, name: &str) -> Result<Arc<S::Item>, LoadError> {
        let _change = lock(&self.changes);
        let current = self.live.load();
        let removed = current
            .find(name)
            .cloned()
            .ok_or_else(|| Self::not_loaded(name))?;
        let items: Vec<_> = current
            .items()
            .iter()
            .filter(|item| item.name() != name)
            .cloned()
            .collect();
        self.publish(S::build(items, None)?);
        let earlier = lock(&self.history).remove(name).unwrap_or_default();
        self.forget(earlier.into_iter().chain([removed.clone()]));
        tracing::info!(kind = %Self::kind(), name, "unloaded");
        Ok(removed)
    }

    /// Make the version `name` has on its own live again after an unload. Refused when
    /// the name is loaded, has no such version, or the set refuses it now.
    pub fn restore(&self, name: &str) -> Result<Arc<S::Item>, LoadError> {
        let _change = lock(&self.changes);
        if self.live.load().find(name).is_some() {
            return Err(LoadError::Duplicate {
                kind: Self::kind(),
                name: name.to_owned(),
            });
        }
        let base =
            lock(&self.bases)
                .get(name)
                .cloned()
                .ok_or_else(|| LoadError::NothingToRestore {
                    kind: Self::kind(),
                    name: name.to_owned(),
                })?;
        self.insert(base.clone())?;
        tracing::info!(kind = %Self::kind(), name, version = base.version(), origin = base.origin(), "restored");
        Ok(base)
    }

    /// The version [`VersionStore::restore`] would make live: the one `name` has on its
    /// own, while the name is not loaded.
    pub fn restorable(&self, name: &str) -> Option<Arc<S::Item>> {
        if self.live.load().find(name).is_some() {
            return None;
        }
        lock(&self.bases).get(name).cloned()
    }

    /// Forget the version loaded from `origin` as one to restore (its file is gone, so it
    /// no longer loads at start).
    pub fn forget_base_from(&self, origin: &str) {
        lock(&self.bases).retain(|_, base| base.origin() != origin);
    }

    /// Keep at most `len` earlier versions of `name`, dropping the oldest: how the state
    /// replay ends with the history it recorded. Replaying uploads over the version that
    /// loads at start on its own puts that one first in the history, where the record may
    /// no longer keep it. The dropped ones keep their cache entries: they are what loads
    /// at every start.
    pub fn trim_history(&self, name: &str, len: usize) {
        if let Some(kept) = lock(&self.history).get_mut(name) {
            let excess = kept.len().saturating_sub(len);
            kept.drain(..excess);
        }
    }

    /// The live version of `name` and the earlier ones kept, newest first.
    pub fn of(&self, name: &str) -> Result<Vec<Arc<S::Item>>, LoadError> {
        let live = self.get(name).ok_or_else(|| Self::not_loaded(name))?;
        let history = lock(&self.history);
        let earlier = history.get(name).into_iter().flatten().rev().cloned();
        Ok(std::iter::once(live).chain(earlier).collect())
    }

    /// Publish `item` under a new name. Callers hold `changes`.
    fn insert(&self, item: Arc<S::Item>) -> Result<(), LoadError> {
        let current = self.live.load();
        if current.find(item.name()).is_some() {
            return Err(LoadError::Duplicate {
                kind: Self::kind(),
                name: item.name().to_owned(),
            });
        }
        let mut items = current.items().to_vec();
        let at = items.partition_point(|other| other.name() < item.name());
        items.insert(at, item.clone());
        self.publish(S::build(items, Some(item.name()))?);
        self.note_base(&item);
        tracing::info!(kind = %Self::kind(), name = item.name(), version = item.version(), revision = revision(&*item), origin = item.origin(), "loaded");
        Ok(())
    }

    /// Put `live` in place of the version of its name, keeping that one for rollback.
    /// Callers hold `changes`.
    fn replace_live(&self, live: Arc<S::Item>) -> Result<Swapped<S::Item>, LoadError> {
        let previous = self.swap(live.clone())?;
        self.note_base(&live);
        self.remember(previous.clone());
        tracing::info!(kind = %Self::kind(), name = live.name(), from = previous.version(), to = live.version(), revision = revision(&*live), origin = live.origin(), "replaced");
        Ok(Swapped { previous, live })
    }

    /// Put `item` in place of the live one of its name; returns the one replaced.
    /// Callers hold `changes`.
    fn swap(&self, item: Arc<S::Item>) -> Result<Arc<S::Item>, LoadError> {
        let current = self.live.load();
        let previous = current
            .find(item.name())
            .cloned()
            .ok_or_else(|| Self::not_loaded(item.name()))?;
        let items: Vec<_> = current
            .items()
            .iter()
            .map(|other| {
                if other.name() == item.name() {
                    item.clone()
                } else {
                    other.clone()
                }
            })
            .collect();
        self.publish(S::build(items, Some(item.name()))?);
        Ok(previous)
    }

    fn publish(&self, next: S) {
        let live = Arc::new(next);
        let previous = self.live.swap(live.clone());
        // Versions that stopped being live are retired; one live again is reinstated.
        for item in previous.items() {
            if !live.items().iter().any(|other| Arc::ptr_eq(other, item)) {
                item.retire();
            }
        }
        for item in live.items() {
            item.reinstate();
        }
        (self.upkeep.published)(&live);
    }

    /// Keep `item` as the version its name comes back to when it is not an upload.
    fn note_base(&self, item: &Arc<S::Item>) {
        if item.source() != Source::Upload {
            lock(&self.bases).insert(item.name().to_owned(), item.clone());
        }
    }

    /// Keep a replaced version, dropping the oldest beyond `keep`.
    fn remember(&self, item: Arc<S::Item>) {
        let dropped: Vec<_> = {
            let mut history = lock(&self.history);
            let kept = history.entry(item.name().to_owned()).or_default();
            kept.push_back(item);
            let excess = kept.len().saturating_sub(self.keep);
            kept.drain(..excess).collect()
        };
        self.forget(dropped);
    }

    /// Hand over the content hashes of `dropped` versions no live, kept or restorable
    /// version has, unless they came with the binary.
    fn forget(&self, dropped: impl IntoIterator<Item = Arc<S::Item>>) {
        let live = self.live.load();
        let history = lock(&self.history);
        let bases = lock(&self.bases);
        let in_use = |hash: &str| {
            live.items().iter().any(|item| item.content_hash() == hash)
                || history
                    .values()
                    .flatten()
                    .any(|item| item.content_hash() == hash)
                || bases.values().any(|item| item.content_hash() == hash)
        };
        for item in dropped {
            if item.source() != Source::Builtin && !in_use(item.content_hash()) {
                (self.upkeep.dropped)(item.content_hash());
            }
        }
    }
}
