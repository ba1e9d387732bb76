//! [`VecMap`]: a map kept as a sorted `Vec`, for the console's small tables.
//!
//! Why not `BTreeMap` or `HashMap`? Both are generic over key and value, so every table type
//! adds its own copy of their tree or hash-table code to the WebAssembly module: measured, the
//! console's eight maps cost about 70 KB of wasm as `BTreeMap`s. The console's tables are small
//! and bounded (a session's sockets, its lab servers, the connections in the wire view), so a
//! sorted `Vec` with binary search is as fast here and adds almost no code. It keeps the keys
//! in order, as `BTreeMap` did (`pop_first` drops the oldest socket id).

use std::borrow::Borrow;

/// A map from `K` to `V`, sorted by key.
#[derive(Debug, Clone)]
pub(crate) struct VecMap<K, V>(Vec<(K, V)>);

impl<K, V> Default for VecMap<K, V> {
    fn default() -> Self {
        VecMap(Vec::new())
    }
}

impl<K: Ord, V> VecMap<K, V> {
    pub(crate) fn new() -> Self {
        VecMap(Vec::new())
    }

    fn find<Q: Ord + ?Sized>(&self, key: &Q) -> Result<usize, usize>
    where
        K: Borrow<Q>,
    {
        self.0.binary_search_by(|(k, _)| k.borrow().cmp(key))
    }

    pub(crate) fn get<Q: Ord + ?Sized>(&self, key: &Q) -> Option<&V>
    where
        K: Borrow<Q>,
    {
        self.find(key).ok().map(|i| &self.0[i].1)
    }

    pub(crate) fn get_mut<Q: Ord + ?Sized>(&mut self, key: &Q) -> Option<&mut V>
    where
        K: Borrow<Q>,
    {
        self.find(key).ok().map(|i| &mut self.0[i].1)
    }

    pub(crate) fn contains_key<Q: Ord + ?Sized>(&self, key: &Q) -> bool
    where
        K: Borrow<Q>,
    {
        self.find(key).is_ok()
    }

    /// Sets `key` to `value`, returning the value it had.
    pub(crate) fn insert(&mut self, key: K, value: V) -> Option<V> {
        match self.find(&key) {
            Ok(i) => Some(std::mem::replace(&mut self.0[i].1, value)),
            Err(i) => {
                self.0.insert(i, (key, value));
                None
            }
        }
    }

    pub(crate) fn remove<Q: Ord + ?Sized>(&mut self, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
    {
        self.find(key).ok().map(|i| self.0.remove(i).1)
    }

    /// The value of `key`, made with `V::default()` if there was none.
    pub(crate) fn get_or_default(&mut self, key: K) -> &mut V
    where
        V: Default,
    {
        let i = match self.find(&key) {
            Ok(i) => i,
            Err(i) => {
                self.0.insert(i, (key, V::default()));
                i
            }
        };
        &mut self.0[i].1
    }

    /// Removes the entry with the smallest key.
    pub(crate) fn pop_first(&mut self) -> Option<(K, V)> {
        (!self.0.is_empty()).then(|| self.0.remove(0))
    }

    pub(crate) fn len(&self) -> usize {
        self.0.len()
    }

    pub(crate) fn clear(&mut self) {
        self.0.clear();
    }

    /// The entries in key order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (&K, &V)> {
        self.0.iter().map(|(k, v)| (k, v))
    }
}

#[cfg(test)]
mod tests {
    use super::VecMap;
    use wasm_bindgen_test::wasm_bindgen_test;

    #[wasm_bindgen_test(unsupported = test)]
    fn behaves_like_an_ordered_map() {
        let mut m = VecMap::new();
        assert_eq!(m.insert(3, "c"), None);
        assert_eq!(m.insert(1, "a"), None);
        assert_eq!(m.insert(2, "b"), None);
        assert_eq!(m.insert(2, "B"), Some("b"));
        assert_eq!(
            m.iter().collect::<Vec<_>>(),
            [(&1, &"a"), (&2, &"B"), (&3, &"c")]
        );
        assert_eq!(m.get(&2), Some(&"B"));
        assert!(m.contains_key(&3) && !m.contains_key(&4));
        *m.get_mut(&3).unwrap() = "C";
        assert_eq!(m.remove(&1), Some("a"));
        assert_eq!(m.remove(&1), None);
        assert_eq!(m.pop_first(), Some((2, "B")));
        assert_eq!(m.len(), 1);
        assert_eq!(m.get(&3), Some(&"C"));
        m.clear();
        assert_eq!(m.pop_first(), None);

        let mut counts: VecMap<&str, u32> = VecMap::default();
        *counts.get_or_default("x") += 1;
        *counts.get_or_default("x") += 1;
        *counts.get_or_default("a") += 1;
        assert_eq!(counts.iter().collect::<Vec<_>>(), [(&"a", &1), (&"x", &2)]);
    }
}
