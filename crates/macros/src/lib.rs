//! `#[pg_callback]`: the attribute every function PostgreSQL calls in glassheap carries.
//!
//! It is pgrx's `#[pg_guard]` with the function's body run inside
//! `crate::pg::error::bridge`, which makes an ERROR that PostgreSQL raises below the
//! callback reach the client exactly as PostgreSQL raised it (message, DETAIL, HINT,
//! CONTEXT, SQLSTATE and the other fields), instead of pgrx's re-raised copy without the
//! error's CONTEXT lines and with a Rust backtrace appended to its DETAIL when the
//! server's environment sets `RUST_BACKTRACE`. Why and how: src/pg/error.rs.
//!
//! ```ignore
//! #[pg_callback]
//! unsafe extern "C-unwind" fn scan_end(s: pg_sys::TableScanDesc) { ... }
//! // becomes
//! #[pgrx::pg_guard]
//! unsafe extern "C-unwind" fn scan_end(s: pg_sys::TableScanDesc) {
//!     crate::pg::error::bridge(move || -> () { ... })
//! }
//! ```

#![forbid(unsafe_code)]

use proc_macro::TokenStream;
use quote::quote;
use syn::{parse_macro_input, parse_quote, ItemFn, ReturnType};

#[proc_macro_attribute]
pub fn pg_callback(attr: TokenStream, item: TokenStream) -> TokenStream {
    if !attr.is_empty() {
        return syn::Error::new(
            proc_macro2::Span::call_site(),
            "#[pg_callback] takes no arguments",
        )
        .to_compile_error()
        .into();
    }
    let mut func = parse_macro_input!(item as ItemFn);
    let ret = match &func.sig.output {
        ReturnType::Default => quote!(()),
        ReturnType::Type(_, ty) => quote!(#ty),
    };
    let body = &func.block;
    // `move`: the arguments are raw pointers and plain values; the closure owns them
    // for as long as the body runs, and `return` in the body returns from the closure,
    // which is the function's result.
    func.block = parse_quote!({
        crate::pg::error::bridge(move || -> #ret #body)
    });
    quote!(
        #[::pgrx::pg_guard]
        #func
    )
    .into()
}
