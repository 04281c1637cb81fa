//! Parsing of the attribute arguments shared by `#[aioloop::main]` and `#[aioloop::test]`.

use proc_macro2::TokenStream;
use syn::parse::Parser;
use syn::punctuated::Punctuated;
use syn::{Expr, ExprLit, Lit, Meta, Token};

use crate::entry::Kind;
use crate::errors::Errors;

/// The options accepted inside `#[aioloop::main(..)]` / `#[aioloop::test(..)]`, as shown in
/// error messages.
pub(crate) const ACCEPTED: &str =
    "accepted options: `start_paused`, `start_paused = true`, `start_paused = false`, \
     `crate = \"path::to::aioloop\"`";

/// The parsed attribute arguments.
#[derive(Default)]
pub(crate) struct Options {
    /// `Some(..)` when `start_paused` was given, so the expansion calls
    /// `.start_paused(..)` only when asked to.
    pub(crate) start_paused: Option<bool>,
    /// The path of the `aioloop` crate; `None` means `::aioloop`.
    pub(crate) crate_path: Option<syn::Path>,
}

/// Parses the attribute arguments, reporting every bad option (not just the first) with a span
/// on the offending token.
pub(crate) fn parse(kind: Kind, args: TokenStream) -> syn::Result<Options> {
    let metas = Punctuated::<Meta, Token![,]>::parse_terminated
        .parse2(args)
        .map_err(|e| syn::Error::new(e.span(), format!("{e} in {} arguments; {ACCEPTED}", kind.attr())))?;

    let mut opts = Options::default();
    let mut errors = Errors::default();

    for meta in metas {
        let path = meta.path();
        if path.is_ident("start_paused") {
            if opts.start_paused.is_some() {
                errors.push(duplicate(&meta, "start_paused"));
                continue;
            }
            match parse_start_paused(&meta) {
                Ok(on) => opts.start_paused = Some(on),
                Err(e) => errors.push(e),
            }
        } else if path.is_ident("crate") {
            if opts.crate_path.is_some() {
                errors.push(duplicate(&meta, "crate"));
                continue;
            }
            match parse_crate_path(&meta) {
                Ok(p) => opts.crate_path = Some(p),
                Err(e) => errors.push(e),
            }
        } else {
            let name = quote::ToTokens::to_token_stream(path)
                .to_string()
                .replace(' ', "");
            errors.spanned(
                path,
                format!("unknown option `{name}` for {}; {ACCEPTED}", kind.attr()),
            );
        }
    }

    errors.or_ok(opts)
}

fn duplicate(meta: &Meta, name: &str) -> syn::Error {
    syn::Error::new_spanned(meta.path(), format!("duplicate option `{name}`"))
}

fn parse_start_paused(meta: &Meta) -> syn::Result<bool> {
    match meta {
        Meta::Path(_) => Ok(true),
        Meta::NameValue(nv) => match &nv.value {
            Expr::Lit(ExprLit {
                lit: Lit::Bool(b), ..
            }) => Ok(b.value),
            other => Err(syn::Error::new_spanned(
                other,
                format!("invalid value for `start_paused`: expected `true` or `false`; {ACCEPTED}"),
            )),
        },
        Meta::List(list) => Err(syn::Error::new_spanned(
            list,
            format!("`start_paused` takes no parenthesized arguments; {ACCEPTED}"),
        )),
    }
}

fn parse_crate_path(meta: &Meta) -> syn::Result<syn::Path> {
    match meta {
        Meta::NameValue(nv) => match &nv.value {
            Expr::Lit(ExprLit { lit: Lit::Str(s), .. }) => {
                s.parse::<syn::Path>().map_err(|_| bad_crate_path(s))
            }
            Expr::Path(p) if p.qself.is_none() && p.attrs.is_empty() => Ok(p.path.clone()),
            other => Err(bad_crate_path(other)),
        },
        Meta::Path(p) => Err(bad_crate_path(p)),
        Meta::List(list) => Err(bad_crate_path(list)),
    }
}

fn bad_crate_path(tokens: impl quote::ToTokens) -> syn::Error {
    syn::Error::new_spanned(
        tokens,
        format!(
            "invalid value for `crate`: expected a path string such as \
             `crate = \"::aioloop\"`; {ACCEPTED}"
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use quote::{quote, ToTokens};

    fn ok(args: TokenStream) -> Options {
        parse(Kind::Main, args).expect("options should parse")
    }

    fn err(args: TokenStream) -> String {
        parse(Kind::Test, args)
            .err()
            .expect("options should be rejected")
            .to_string()
    }

    #[test]
    fn empty_means_defaults() {
        let opts = ok(quote!());
        assert_eq!(opts.start_paused, None);
        assert!(opts.crate_path.is_none());
    }

    #[test]
    fn start_paused_forms() {
        assert_eq!(ok(quote!(start_paused)).start_paused, Some(true));
        assert_eq!(ok(quote!(start_paused = true)).start_paused, Some(true));
        assert_eq!(ok(quote!(start_paused = false)).start_paused, Some(false));
        assert_eq!(ok(quote!(start_paused,)).start_paused, Some(true));
    }

    #[test]
    fn crate_path_forms() {
        let p = ok(quote!(crate = "::my::rt")).crate_path.unwrap();
        assert_eq!(p.to_token_stream().to_string(), ":: my :: rt");
        let p = ok(quote!(crate = crate, start_paused)).crate_path.unwrap();
        assert_eq!(p.to_token_stream().to_string(), "crate");
    }

    #[test]
    fn unknown_option_lists_accepted() {
        let msg = err(quote!(flavor = "current_thread"));
        assert!(
            msg.starts_with("unknown option `flavor` for #[aioloop::test]"),
            "{msg}"
        );
        assert!(msg.contains(ACCEPTED), "{msg}");
    }

    #[test]
    fn bad_values() {
        for args in [
            quote!(start_paused = "yes"),
            quote!(start_paused = 1),
            quote!(start_paused(true)),
        ] {
            let msg = err(args);
            assert!(msg.contains("start_paused"), "{msg}");
            assert!(msg.contains(ACCEPTED), "{msg}");
        }
        assert!(err(quote!(crate)).contains("invalid value for `crate`"));
        assert!(err(quote!(crate = "not a path")).contains("invalid value for `crate`"));
    }

    #[test]
    fn duplicates_rejected() {
        assert!(err(quote!(start_paused, start_paused = false)).contains("duplicate option"));
        assert!(err(quote!(crate = "a", crate = "b")).contains("duplicate option"));
    }

    #[test]
    fn all_errors_reported() {
        let e = parse(Kind::Main, quote!(foo, start_paused = 3, bar))
            .err()
            .unwrap();
        assert_eq!(e.into_iter().count(), 3);
    }

    #[test]
    fn syntax_error_mentions_accepted() {
        let msg = err(quote!(42));
        assert!(msg.contains("in #[aioloop::test] arguments"), "{msg}");
        assert!(msg.contains(ACCEPTED), "{msg}");
    }
}
