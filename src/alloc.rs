//! The process's allocator: mimalloc, asked the way a C program asks it.
//!
//! The `mimalloc` crate's `GlobalAlloc` passes every request to `mi_malloc_aligned`, alignment 1
//! or 8 included. mimalloc v3 serves an aligned request from a size's own free list only while
//! that list has a block at hand; otherwise, and for every size whose block is not a power of
//! two (24, 40, 48 … bytes), it over-allocates `size + align - 1` in a larger size class. In a
//! plan of 5000 hubs that was one allocation in six, with a third more memory for each, and so
//! more fresh pages to fault in (a page fault costs about 2 µs on a virtual machine).
//!
//! Here a request whose alignment is at most a machine word takes `mi_malloc` itself: every
//! mimalloc block size is a multiple of the word and a page's first block is aligned to 16
//! bytes, so any block is word-aligned. A larger alignment still takes the aligned functions.

use std::alloc::{GlobalAlloc, Layout};
use std::ffi::c_void;

use libmimalloc_sys as mi;

/// What every mimalloc block is aligned to, whatever its size.
const WORD: usize = std::mem::size_of::<usize>();

/// mimalloc as the global allocator (see the module documentation).
pub struct MiMalloc;

// SAFETY: each function forwards to mimalloc's, which meet `GlobalAlloc`'s contract for any size;
// the plain ones are used only when the alignment asked for is one every block has.
unsafe impl GlobalAlloc for MiMalloc {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: mimalloc's allocation functions accept any size and alignment.
        unsafe {
            if layout.align() <= WORD {
                mi::mi_malloc(layout.size()).cast()
            } else {
                mi::mi_malloc_aligned(layout.size(), layout.align()).cast()
            }
        }
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as in `alloc`.
        unsafe {
            if layout.align() <= WORD {
                mi::mi_zalloc(layout.size()).cast()
            } else {
                mi::mi_zalloc_aligned(layout.size(), layout.align()).cast()
            }
        }
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, _layout: Layout) {
        // SAFETY: `ptr` came from this allocator (the caller's contract); `mi_free` frees any
        // block, aligned or not.
        unsafe { mi::mi_free(ptr.cast::<c_void>()) }
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: `ptr` came from this allocator with `layout` (the caller's contract); the
        // new block keeps the alignment, as in `alloc`.
        unsafe {
            if layout.align() <= WORD {
                mi::mi_realloc(ptr.cast::<c_void>(), new_size).cast()
            } else {
                mi::mi_realloc_aligned(ptr.cast::<c_void>(), new_size, layout.align()).cast()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every size from 1 byte to 64 KiB at every alignment from 1 to 4 KiB, fresh, zeroed and
    /// grown or shrunk, comes back aligned, writable and (zeroed) zero; many at once, so that
    /// size classes run out of free blocks and take fresh pages.
    #[test]
    fn every_block_is_aligned_as_asked_and_usable() {
        let a = MiMalloc;
        let sizes: Vec<usize> = (1..=256)
            .chain((264..=4096).step_by(40))
            .chain([8191, 8192, 65536])
            .collect();
        for align in (0..=12).map(|s| 1usize << s) {
            let mut live = Vec::new();
            for &size in &sizes {
                let size = size.next_multiple_of(align);
                let layout = Layout::from_size_align(size, align).unwrap();
                for zeroed in [false, true] {
                    // SAFETY: a non-zero size; each block is freed below with its layout.
                    let p = unsafe {
                        if zeroed {
                            a.alloc_zeroed(layout)
                        } else {
                            a.alloc(layout)
                        }
                    };
                    assert!(!p.is_null(), "{size} bytes at {align}");
                    assert_eq!(p as usize % align, 0, "{size} bytes at {align}");
                    // SAFETY: `p` holds `size` bytes.
                    let bytes = unsafe { std::slice::from_raw_parts_mut(p, size) };
                    if zeroed {
                        assert!(bytes.iter().all(|&b| b == 0), "{size} bytes at {align}");
                    }
                    bytes.fill(0xa5);
                    live.push((p, layout));
                }
            }
            for (p, layout) in &mut live {
                let first = layout.size();
                for new_size in [first * 3, first] {
                    // SAFETY: `p` is live with `layout`; the new size is a non-zero multiple of
                    // the alignment.
                    let q = unsafe { a.realloc(*p, *layout, new_size) };
                    assert!(!q.is_null());
                    assert_eq!(q as usize % align, 0, "grown to {new_size} at {align}");
                    // SAFETY: the old contents are kept up to the smaller size.
                    let kept = unsafe { *q.add(layout.size().min(new_size) - 1) };
                    assert_eq!(kept, 0xa5, "contents kept at {align}");
                    *p = q;
                    *layout = Layout::from_size_align(new_size, align).unwrap();
                }
            }
            for (p, layout) in live {
                // SAFETY: allocated above with this layout, freed once.
                unsafe { a.dealloc(p, layout) };
            }
        }
    }
}
