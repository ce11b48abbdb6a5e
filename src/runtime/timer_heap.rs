//! A 4-ary min-heap keyed by deadline: the shape of each P's timer heap.
//!
//! Go keeps its timers in a 4-ary heap for the same reason we do: with
//! 100,000 sleeping goroutines a binary heap is 17 levels deep and every
//! pop walks all of them, most levels a cache miss. Four children per node
//! halve the depth, and the four children share one or two cache lines, so
//! the extra comparisons per level cost little. The key sits next to the
//! item so that comparing never touches the item.

/// A min-heap of `(deadline, item)` pairs; ties come out in no set order.
pub(crate) struct QuadHeap<T> {
    entries: Vec<(u64, T)>,
}

impl<T> QuadHeap<T> {
    pub(crate) const fn new() -> QuadHeap<T> {
        QuadHeap {
            entries: Vec::new(),
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    /// The earliest deadline, if any.
    pub(crate) fn peek_when(&self) -> Option<u64> {
        self.entries.first().map(|e| e.0)
    }

    pub(crate) fn push(&mut self, when: u64, item: T) {
        self.entries.push((when, item));
        self.sift_up(self.entries.len() - 1);
    }

    /// Removes and returns the entry with the earliest deadline.
    pub(crate) fn pop(&mut self) -> Option<(u64, T)> {
        let last = self.entries.pop()?;
        if self.entries.is_empty() {
            return Some(last);
        }
        let top = std::mem::replace(&mut self.entries[0], last);
        self.sift_down(0);
        Some(top)
    }

    /// Keeps only the entries `keep` accepts, then restores the heap order.
    pub(crate) fn retain(&mut self, mut keep: impl FnMut(&T) -> bool) {
        self.entries.retain(|e| keep(&e.1));
        // Floyd's bottom-up construction: sift down every inner node.
        for i in (0..self.entries.len().div_ceil(4)).rev() {
            self.sift_down(i);
        }
    }

    // Both sifts move a *hole* instead of swapping: the moving entry is
    // held aside and written once at its final place, so each level costs
    // one entry copy instead of three.

    fn sift_up(&mut self, mut i: usize) {
        let when = self.entries[i].0;
        if i == 0 || self.entries[(i - 1) / 4].0 <= when {
            return;
        }
        let base = self.entries.as_mut_ptr();
        // SAFETY: every index used is < len. The entry at `i` is read out
        // once (leaving a hole), each parent moved down into the hole is
        // copied exactly once, and the held entry is written into the final
        // hole, so every entry ends up in exactly one slot; nothing in
        // between can panic.
        unsafe {
            let held = std::ptr::read(base.add(i));
            while i > 0 {
                let parent = (i - 1) / 4;
                if (*base.add(parent)).0 <= when {
                    break;
                }
                std::ptr::copy_nonoverlapping(base.add(parent), base.add(i), 1);
                i = parent;
            }
            std::ptr::write(base.add(i), held);
        }
    }

    fn sift_down(&mut self, mut i: usize) {
        let n = self.entries.len();
        let when = self.entries[i].0;
        let base = self.entries.as_mut_ptr();
        // SAFETY: as in `sift_up`: indices stay < n, the held entry is read
        // once and written once, each child moved up is copied once.
        unsafe {
            let held = std::ptr::read(base.add(i));
            loop {
                let first = 4 * i + 1;
                if first >= n {
                    break;
                }
                let mut min = first;
                let mut min_when = (*base.add(first)).0;
                for c in first + 1..(first + 4).min(n) {
                    let w = (*base.add(c)).0;
                    if w < min_when {
                        min = c;
                        min_when = w;
                    }
                }
                if min_when >= when {
                    break;
                }
                std::ptr::copy_nonoverlapping(base.add(min), base.add(i), 1);
                i = min;
            }
            std::ptr::write(base.add(i), held);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::QuadHeap;

    /// A small deterministic generator (the heap has no randomness of its
    /// own to test, only orders of input).
    fn lcg(state: &mut u64) -> u64 {
        *state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        *state >> 33
    }

    #[test]
    fn pops_in_deadline_order_across_random_pushes_and_pops() {
        for seed in 1..20u64 {
            let mut rng = seed;
            let mut heap = QuadHeap::new();
            let mut model: Vec<u64> = Vec::new();
            for step in 0..2000 {
                if !lcg(&mut rng).is_multiple_of(3) || model.is_empty() {
                    let when = lcg(&mut rng) % 500;
                    heap.push(when, step);
                    model.push(when);
                } else {
                    let (when, _) = heap.pop().expect("model says non-empty");
                    let min = *model.iter().min().unwrap();
                    assert_eq!(when, min, "seed {seed} step {step}");
                    let at = model.iter().position(|&w| w == min).unwrap();
                    model.swap_remove(at);
                }
                assert_eq!(heap.len(), model.len());
                assert_eq!(heap.peek_when(), model.iter().min().copied());
            }
        }
    }

    #[test]
    fn retain_drops_entries_and_keeps_the_order() {
        let mut heap = QuadHeap::new();
        let mut rng = 7;
        for i in 0..1000u64 {
            heap.push(lcg(&mut rng) % 10_000, i);
        }
        heap.retain(|&i| i % 3 != 0);
        assert_eq!(heap.len(), 666);
        let mut last = 0;
        while let Some((when, i)) = heap.pop() {
            assert!(when >= last, "out of order after retain");
            assert_ne!(i % 3, 0, "a dropped entry came back");
            last = when;
        }
    }
}
