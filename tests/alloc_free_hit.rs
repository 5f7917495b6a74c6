//! A cache hit through ChainedCredential + TenantPolicy + TokenCache allocates nothing.
//!
//! This binary installs a counting global allocator, so it is its own test target.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use credchain::testing::StaticCredential;
use credchain::{ChainedCredential, Env, TokenRequestOptions};
use futures::FutureExt;

struct Counting;

static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

// SAFETY-free: delegating to the system allocator.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::SeqCst);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

#[test]
fn cached_get_token_allocates_nothing() {
    let chain = ChainedCredential::builder()
        .env(Env::empty())
        .sticky(true)
        .provider(StaticCredential::new("Static", "token").with_home_tenant("home-tenant"))
        .build()
        .unwrap();
    let scopes = ["https://management.azure.com/.default"];
    let options = TokenRequestOptions::new();
    let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
    runtime.block_on(chain.get_token(&scopes, &options)).unwrap(); // warm: selects and caches

    // First use on this thread sets up thread-local state (arc-swap's debt list) once.
    for _ in 0..10 {
        chain
            .get_token(&scopes, &options)
            .now_or_never()
            .expect("a hit completes at once")
            .unwrap();
    }
    let before = ALLOCATIONS.load(Ordering::SeqCst);
    for _ in 0..1000 {
        let token = chain
            .get_token(&scopes, &options)
            .now_or_never()
            .expect("a hit completes at once")
            .unwrap();
        assert_eq!(token.secret(), "token");
    }
    let allocations = ALLOCATIONS.load(Ordering::SeqCst) - before;
    assert_eq!(allocations, 0, "1000 cache hits allocated {allocations} times");
}
