//! The shape of each P's timers: a 4-ary min-heap keyed by deadline, with
//! a sorted lane in front of it for deadlines that arrive in order.
//!
//! Go keeps its timers in a 4-ary heap for the same reason we do: with
//! 100,000 sleeping goroutines a binary heap is 17 levels deep and every
//! pop walks all of them, most levels a cache miss. Four children per node
//! halve the depth, and the four children share one or two cache lines, so
//! the extra comparisons per level cost little. The key sits next to the
//! item so that comparing never touches the item.
//!
//! Most timers, though, are pushed in deadline order: a P's clock only
//! moves forward, and the same few durations recur (a loop sleeping 10 ms,
//! a fixed request timeout). [`TimerQueue`] appends such a deadline — one
//! not earlier than the last one appended — to a FIFO lane, and only the
//! out-of-order ones go to the heap. Pushing to the lane compares with one
//! warm entry and popping it touches memory in order, where the heap would
//! walk its levels both ways; the earliest timer is the smaller of the two
//! fronts.

use std::collections::VecDeque;

/// A P's timers: a sorted lane plus a heap (see the module docs). Ties
/// come out in no set order.
pub(crate) struct TimerQueue<T> {
    /// Deadlines pushed in non-decreasing order, oldest first.
    lane: VecDeque<(u64, T)>,
    /// The rest.
    heap: QuadHeap<T>,
    /// The last deadline appended to the lane: while the lane is not
    /// empty, no earlier than its back (equal but for `retain`). A push
    /// compares with this instead of reading the lane's last entry, whose
    /// line has usually left the cache by then.
    last: u64,
}

impl<T> TimerQueue<T> {
    pub(crate) const fn new() -> TimerQueue<T> {
        TimerQueue {
            lane: VecDeque::new(),
            heap: QuadHeap::new(),
            last: 0,
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.lane.len() + self.heap.len()
    }

    /// The earliest deadline, if any.
    pub(crate) fn peek_when(&self) -> Option<u64> {
        match (self.lane.front(), self.heap.peek_when()) {
            (Some(l), Some(h)) => Some(l.0.min(h)),
            (Some(l), None) => Some(l.0),
            (None, h) => h,
        }
    }

    pub(crate) fn push(&mut self, when: u64, item: T) {
        if self.lane.is_empty() || self.last <= when {
            self.last = when;
            self.lane.push_back((when, item));
        } else {
            self.heap.push(when, item);
        }
    }

    /// Removes and returns the entry with the earliest deadline.
    pub(crate) fn pop(&mut self) -> Option<(u64, T)> {
        let from_lane = match (self.lane.front(), self.heap.peek_when()) {
            (Some(l), Some(h)) => l.0 <= h,
            (Some(_), None) => true,
            (None, _) => false,
        };
        if from_lane {
            self.lane.pop_front()
        } else {
            self.heap.pop()
        }
    }

    /// Keeps only the entries `keep` accepts (both stay ordered).
    pub(crate) fn retain(&mut self, mut keep: impl FnMut(&T) -> bool) {
        self.lane.retain(|e| keep(&e.1));
        self.heap.retain(keep);
    }
}

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
    use super::{QuadHeap, TimerQueue};

    /// A small deterministic generator (the heap has no randomness of its
    /// own to test, only orders of input).
    fn lcg(state: &mut u64) -> u64 {
        *state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        *state >> 33
    }

    /// The two queue shapes, for the shared model check.
    trait MinQueue {
        fn push(&mut self, when: u64, item: u64);
        fn pop(&mut self) -> Option<(u64, u64)>;
        fn len(&self) -> usize;
        fn peek_when(&self) -> Option<u64>;
    }

    macro_rules! min_queue {
        ($t:ident) => {
            impl MinQueue for $t<u64> {
                fn push(&mut self, when: u64, item: u64) {
                    $t::push(self, when, item)
                }
                fn pop(&mut self) -> Option<(u64, u64)> {
                    $t::pop(self)
                }
                fn len(&self) -> usize {
                    $t::len(self)
                }
                fn peek_when(&self) -> Option<u64> {
                    $t::peek_when(self)
                }
            }
        };
    }
    min_queue!(QuadHeap);
    min_queue!(TimerQueue);

    /// Runs 3,000 random steps — a push of `next_when(rng)` two times in
    /// three, else a pop — checking every pop and peek against a plain
    /// list.
    fn check_against_model(
        queue: &mut impl MinQueue,
        seed: u64,
        mut next_when: impl FnMut(&mut u64) -> u64,
    ) {
        let mut rng = seed;
        let mut model: Vec<u64> = Vec::new();
        for step in 0..3000 {
            if !lcg(&mut rng).is_multiple_of(3) || model.is_empty() {
                let when = next_when(&mut rng);
                queue.push(when, step);
                model.push(when);
            } else {
                let (when, _) = queue.pop().expect("model says non-empty");
                let min = *model.iter().min().unwrap();
                assert_eq!(when, min, "seed {seed} step {step}");
                let at = model.iter().position(|&w| w == min).unwrap();
                model.swap_remove(at);
            }
            assert_eq!(queue.len(), model.len());
            assert_eq!(queue.peek_when(), model.iter().min().copied());
        }
    }

    #[test]
    fn pops_in_deadline_order_across_random_pushes_and_pops() {
        for seed in 1..20u64 {
            check_against_model(&mut QuadHeap::new(), seed, |rng| lcg(rng) % 500);
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
        assert_drains_without_thirds(&mut heap);
    }

    /// After `retain(|i| i % 3 != 0)` on items 0..1000: 666 left, popped
    /// in order, none of them a dropped one.
    fn assert_drains_without_thirds(queue: &mut impl MinQueue) {
        assert_eq!(queue.len(), 666);
        let mut last = 0;
        while let Some((when, i)) = queue.pop() {
            assert!(when >= last, "out of order after retain");
            assert_ne!(i % 3, 0, "a dropped entry came back");
            last = when;
        }
    }

    /// Pushes that come mostly in order (a rising clock plus a fixed
    /// duration, as from a P) with some out of order, interleaved with
    /// pops: the queue always yields the minimum, whichever side holds it.
    #[test]
    fn timer_queue_pops_in_deadline_order_with_lane_and_heap() {
        for seed in 1..20u64 {
            let mut clock = 0u64;
            check_against_model(&mut TimerQueue::new(), seed, |rng| {
                clock += lcg(rng) % 5;
                if lcg(rng).is_multiple_of(7) {
                    clock.saturating_sub(lcg(rng) % 50) // out of order
                } else {
                    clock + 100 // in order
                }
            });
        }
    }

    #[test]
    fn timer_queue_retain_keeps_both_sides_ordered() {
        let mut queue = TimerQueue::new();
        let mut rng = 11;
        for i in 0..1000u64 {
            // The first half in order (the lane), the rest earlier than the
            // lane's last deadline, in random order (the heap).
            let when = if i < 500 {
                i * 10
            } else {
                lcg(&mut rng) % 4000
            };
            queue.push(when, i);
        }
        assert_eq!(queue.lane.len(), 500, "in-order pushes use the lane");
        assert_eq!(queue.heap.len(), 500, "earlier ones go to the heap");
        queue.retain(|&i| i % 3 != 0);
        assert_drains_without_thirds(&mut queue);
    }
}
