//! A room's scrollback as a list that is cheap to copy and to append to.
//!
//! Yew's reducer hands `reduce` a state that the previous render still holds,
//! so every action copies what it changes. A plain `Vec` of 10,000 lines would
//! be copied whole for every message that arrives. [`Scrollback`] keeps its
//! lines in chunks behind `Rc`s instead: a copy shares every chunk, and an
//! append copies only the last one (at most [`CHUNK`] lines). Components get
//! the same sharing for their props, and compare them by pointer first.
//!
//! Plain Rust, tested natively.

use std::ops::Range;
use std::rc::Rc;

/// Lines per chunk. Small enough that copying one is cheap, large enough that
/// walking the chunk list is short.
pub const CHUNK: usize = 256;

/// An ordered list of `T`, stored as shared chunks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scrollback<T> {
    chunks: Vec<Rc<Vec<T>>>,
    len: usize,
}

impl<T> Default for Scrollback<T> {
    fn default() -> Self {
        Scrollback {
            chunks: Vec::new(),
            len: 0,
        }
    }
}

impl<T: Clone> Scrollback<T> {
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn push(&mut self, item: T) {
        match self.chunks.last_mut() {
            Some(last) if last.len() < CHUNK => Rc::make_mut(last).push(item),
            _ => self.chunks.push(Rc::new(vec![item])),
        }
        self.len += 1;
    }

    /// Inserts `item` so that it becomes the element at `index` (`index` at
    /// most `len`). Only the chunk it lands in is copied; a chunk that grows
    /// to twice [`CHUNK`] is split.
    pub fn insert(&mut self, index: usize, item: T) {
        if index >= self.len {
            self.push(item);
            return;
        }
        let (chunk, offset) = self.locate(index);
        let target = Rc::make_mut(&mut self.chunks[chunk]);
        target.insert(offset, item);
        if target.len() >= 2 * CHUNK {
            let tail = target.split_off(CHUNK);
            self.chunks.insert(chunk + 1, Rc::new(tail));
        }
        self.len += 1;
    }

    /// Replaces the element at `index` (if there is one). Only its chunk is
    /// copied.
    pub fn set(&mut self, index: usize, item: T) {
        if index >= self.len {
            return;
        }
        let (chunk, offset) = self.locate(index);
        if let Some(slot) = Rc::make_mut(&mut self.chunks[chunk]).get_mut(offset) {
            *slot = item;
        }
    }

    /// Removes the element at `index` (if there is one). Only its chunk is
    /// copied; a chunk left empty goes.
    pub fn remove(&mut self, index: usize) -> Option<T> {
        if index >= self.len {
            return None;
        }
        let (chunk, offset) = self.locate(index);
        let target = Rc::make_mut(&mut self.chunks[chunk]);
        let item = target.remove(offset);
        if target.is_empty() {
            self.chunks.remove(chunk);
        }
        self.len -= 1;
        Some(item)
    }

    /// Drops whole chunks from the front while more than `keep` elements
    /// would remain; returns how many elements were dropped. The list thus
    /// stays between `keep` and `keep + CHUNK` long, and trimming never copies.
    pub fn trim_front(&mut self, keep: usize) -> usize {
        let mut dropped = 0;
        while let Some(first) = self.chunks.first() {
            if self.len - first.len() < keep {
                break;
            }
            self.len -= first.len();
            dropped += first.len();
            self.chunks.remove(0);
        }
        dropped
    }

    pub fn get(&self, index: usize) -> Option<&T> {
        if index >= self.len {
            return None;
        }
        let (chunk, offset) = self.locate(index);
        self.chunks.get(chunk)?.get(offset)
    }

    pub fn last(&self) -> Option<&T> {
        self.chunks.last()?.last()
    }

    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &T> {
        self.chunks.iter().flat_map(|chunk| chunk.iter())
    }

    /// The elements in `range` (clamped to the list), with their indexes.
    pub fn range(&self, range: Range<usize>) -> impl Iterator<Item = (usize, &T)> {
        let end = range.end.min(self.len);
        let start = range.start.min(end);
        // Skip whole chunks before `start` without walking their elements.
        let mut first = 0;
        let mut before = 0;
        while let Some(chunk) = self.chunks.get(first)
            && before + chunk.len() <= start
        {
            before += chunk.len();
            first += 1;
        }
        self.chunks[first.min(self.chunks.len())..]
            .iter()
            .flat_map(|chunk| chunk.iter())
            .enumerate()
            .map(move |(i, item)| (before + i, item))
            .skip(start - before)
            .take(end - start)
    }

    /// The chunk holding `index` and the offset in it; `index < len`.
    fn locate(&self, index: usize) -> (usize, usize) {
        // Usually near the end: search from the back.
        let mut before = self.len;
        for (i, chunk) in self.chunks.iter().enumerate().rev() {
            before -= chunk.len();
            if index >= before {
                return (i, index - before);
            }
        }
        (0, index)
    }
}

impl<T: Clone> FromIterator<T> for Scrollback<T> {
    fn from_iter<I: IntoIterator<Item = T>>(iter: I) -> Self {
        let mut list = Scrollback::default();
        for item in iter {
            list.push(item);
        }
        list
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn collect(list: &Scrollback<u32>) -> Vec<u32> {
        list.iter().copied().collect()
    }

    #[test]
    fn pushes_and_reads_back_in_order() {
        let list: Scrollback<u32> = (0..1000).collect();
        assert_eq!(list.len(), 1000);
        assert_eq!(collect(&list), (0..1000).collect::<Vec<_>>());
        assert_eq!(list.get(0), Some(&0));
        assert_eq!(list.get(257), Some(&257));
        assert_eq!(list.get(999), Some(&999));
        assert_eq!(list.get(1000), None);
        assert_eq!(list.last(), Some(&999));
        let window: Vec<(usize, u32)> = list.range(995..2000).map(|(i, v)| (i, *v)).collect();
        assert_eq!(
            window,
            [(995, 995), (996, 996), (997, 997), (998, 998), (999, 999)]
        );
        let across: Vec<(usize, u32)> = list.range(254..259).map(|(i, v)| (i, *v)).collect();
        assert_eq!(
            across,
            [(254, 254), (255, 255), (256, 256), (257, 257), (258, 258)]
        );
        assert_eq!(list.range(512..512).count(), 0);
        assert_eq!(list.range(0..1000).count(), 1000);
        let (from, to) = (5, 3);
        assert_eq!(list.range(from..to).count(), 0);
    }

    #[test]
    fn a_copy_shares_all_but_the_chunk_that_changes() {
        let list: Scrollback<u32> = (0..(3 * CHUNK as u32)).collect();
        let mut copy = list.clone();
        copy.push(7);
        assert!(Rc::ptr_eq(&list.chunks[0], &copy.chunks[0]));
        assert!(Rc::ptr_eq(&list.chunks[2], &copy.chunks[2]));
        assert_eq!(copy.chunks.len(), 4);
        assert_eq!(list.len() + 1, copy.len());
        assert_ne!(list, copy);
    }

    #[test]
    fn inserts_anywhere_and_splits_big_chunks() {
        let mut list: Scrollback<u32> = (0..10).map(|n| n * 10).collect();
        list.insert(0, 1);
        list.insert(3, 2);
        list.insert(100, 3);
        assert_eq!(
            collect(&list),
            [1, 0, 10, 2, 20, 30, 40, 50, 60, 70, 80, 90, 3]
        );

        let mut big: Scrollback<u32> = (0..CHUNK as u32).collect();
        for n in 0..(CHUNK as u32) {
            big.insert(1, 10_000 + n);
        }
        assert_eq!(big.len(), 2 * CHUNK);
        assert!(big.chunks.iter().all(|c| c.len() <= 2 * CHUNK));
        assert_eq!(big.chunks.len(), 2);
        assert_eq!(big.get(0), Some(&0));
        assert_eq!(big.get(1), Some(&(10_000 + CHUNK as u32 - 1)));
        assert_eq!(big.last(), Some(&(CHUNK as u32 - 1)));
    }

    #[test]
    fn set_and_remove_touch_one_element() {
        let mut list: Scrollback<u32> = (0..(CHUNK as u32 + 2)).collect();
        list.set(CHUNK, 7);
        list.set(10_000, 9);
        assert_eq!(list.get(CHUNK), Some(&7));
        assert_eq!(list.remove(0), Some(0));
        assert_eq!(list.remove(10_000), None);
        assert_eq!(list.len(), CHUNK + 1);
        assert_eq!(list.get(0), Some(&1));
        let mut small: Scrollback<u32> = [1].into_iter().collect();
        assert_eq!(small.remove(0), Some(1));
        assert!(small.is_empty());
        small.push(2);
        assert_eq!(collect(&small), [2]);
    }

    #[test]
    fn trimming_drops_whole_chunks_and_keeps_at_least_keep() {
        let mut list: Scrollback<u32> = (0..1000).collect();
        let dropped = list.trim_front(300);
        assert_eq!(dropped, 512);
        assert_eq!(list.len(), 488);
        assert_eq!(list.get(0), Some(&512));
        assert_eq!(list.trim_front(488), 0);
        assert_eq!(list.trim_front(2000), 0);
    }
}
