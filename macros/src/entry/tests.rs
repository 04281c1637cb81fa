//! Unit tests of the expansion (token level; the behaviour is tested through `aioloop`).

use super::*;

fn expand_str(kind: Kind, args: TokenStream, item: TokenStream) -> String {
    let out = expand(kind, args, item);
    // Whatever we emit, error or not, must be valid item syntax.
    syn::parse2::<syn::File>(out.clone()).expect("expansion should parse as items");
    out.to_string()
}

fn squash(s: &str) -> String {
    s.split_whitespace().collect()
}

fn assert_has(haystack: &str, needle: TokenStream) {
    let needle = needle.to_string();
    assert!(
        squash(haystack).contains(&squash(&needle)),
        "expected `{needle}` in:\n{haystack}"
    );
}

fn error_count(out: &str) -> usize {
    out.matches("compile_error").count()
}

#[test]
fn main_expansion() {
    let out = expand_str(
        Kind::Main,
        quote!(),
        quote! {
            /// Docs.
            #[allow(unused)]
            pub async fn main() -> Result<(), std::io::Error> { Ok(()) }
        },
    );
    assert_eq!(error_count(&out), 0, "{out}");
    assert_has(
        &out,
        quote! {
            #[doc = r" Docs."]
            #[allow(unused)]
            pub fn main() -> Result<(), std::io::Error> {
                async fn __aioloop_body() -> Result<(), std::io::Error> { Ok(()) }
                ::aioloop::EventLoop::builder().run(__aioloop_body())
            }
        },
    );
}

#[test]
fn options_reach_the_builder() {
    let item = quote!(
        async fn main() {}
    );
    let out = expand_str(Kind::Main, quote!(start_paused), item.clone());
    assert_has(
        &out,
        quote!(::aioloop::EventLoop::builder()
            .start_paused(true)
            .run(__aioloop_body())),
    );
    let out = expand_str(Kind::Main, quote!(start_paused = false), item.clone());
    assert_has(&out, quote!(.start_paused(false).run));
    let out = expand_str(Kind::Main, quote!(crate = "crate::rt"), item);
    assert_has(&out, quote!(crate::rt::EventLoop::builder().run));
}

#[test]
fn test_expansion() {
    let out = expand_str(
        Kind::Test,
        quote!(start_paused),
        quote! {
            #[should_panic]
            #[ignore]
            async fn it_works() { panic!() }
        },
    );
    assert_eq!(error_count(&out), 0, "{out}");
    assert_has(
        &out,
        quote! {
            #[::core::prelude::v1::test]
            #[should_panic]
            #[ignore]
            fn it_works() {
                async fn __aioloop_body() { panic!() }
                let __aioloop_fut: ::core::pin::Pin<
                    ::std::boxed::Box<dyn ::core::future::Future<Output = ()>>,
                > = ::std::boxed::Box::pin(__aioloop_body());
                ::aioloop::EventLoop::builder().start_paused(true).run(__aioloop_fut)
            }
        },
    );
}

#[test]
fn test_returning_impl_trait_is_not_boxed() {
    let out = expand_str(
        Kind::Test,
        quote!(),
        quote!(
            async fn t() -> impl std::process::Termination {}
        ),
    );
    assert_has(&out, quote!(.run(__aioloop_body())));
}

#[test]
fn not_async_still_expands() {
    let out = expand_str(
        Kind::Main,
        quote!(),
        quote!(
            fn main() {}
        ),
    );
    assert!(out.contains("the `async` keyword is missing"), "{out}");
    assert_has(&out, quote!(.run(__aioloop_body())));
}

#[test]
fn bad_option_still_expands_with_defaults() {
    let out = expand_str(
        Kind::Test,
        quote!(flavor),
        quote!(
            async fn t() {}
        ),
    );
    assert!(out.contains("unknown option `flavor`"), "{out}");
    assert_has(&out, quote!(::aioloop::EventLoop::builder().run(__aioloop_fut)));
}

#[test]
fn arguments_keep_the_body_uncalled() {
    let out = expand_str(
        Kind::Main,
        quote!(),
        quote!(
            async fn main(n: u32) -> u32 {
                n
            }
        ),
    );
    assert!(
        out.contains("#[aioloop::main] functions cannot take arguments"),
        "{out}"
    );
    assert_has(
        &out,
        quote! {
            fn main() -> u32 {
                #[allow(dead_code)]
                async fn __aioloop_body(n: u32) -> u32 { n }
                ::core::unreachable!()
            }
        },
    );
}

#[test]
fn generics_drop_the_return_type() {
    let out = expand_str(
        Kind::Test,
        quote!(),
        quote!(
            async fn t<T: Default>() -> T {
                T::default()
            }
        ),
    );
    assert!(out.contains("functions cannot be generic"), "{out}");
    assert!(squash(&out).contains("fnt(){"), "{out}");
    assert_has(&out, quote!(async fn __aioloop_body<T: Default>() -> T));
}

#[test]
fn self_drops_the_body() {
    let out = expand_str(
        Kind::Test,
        quote!(),
        quote!(
            async fn t(&self, x: u8) {
                self.go(x)
            }
        ),
    );
    assert!(out.contains("remove the `self` parameter"), "{out}");
    assert_eq!(error_count(&out), 1, "{out}");
    assert!(!out.contains("go"), "{out}");
    assert!(!out.contains("v1 :: test"), "{out}");
}

#[test]
fn errors_accumulate() {
    let out = expand_str(
        Kind::Main,
        quote!(bogus),
        quote!(
            unsafe fn main<T>(x: T) {}
        ),
    );
    // bogus option, missing async, unsafe, arguments, generics
    assert_eq!(error_count(&out), 5, "{out}");
    let option = out.find("unknown option").unwrap();
    let not_async = out.find("`async` keyword").unwrap();
    assert!(option < not_async, "{out}");
}

#[test]
fn duplicate_test_attribute() {
    let out = expand_str(
        Kind::Test,
        quote!(),
        quote!(
            #[test]
            async fn t() {}
        ),
    );
    assert!(out.contains("second test attribute"), "{out}");
    assert_eq!(squash(&out).matches("v1::test]").count(), 1, "{out}");
    assert!(!out.contains("# [test]"), "{out}");
}

#[test]
fn non_fn_item_is_kept() {
    let out = expand_str(
        Kind::Main,
        quote!(),
        quote!(
            pub(crate) struct S;
        ),
    );
    assert!(
        out.contains("#[aioloop::main] can only be applied to an `async fn` item"),
        "{out}"
    );
    assert_has(
        &out,
        quote!(
            pub(crate) struct S;
        ),
    );
}
