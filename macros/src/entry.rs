//! Validation and expansion of `#[aioloop::main]` and `#[aioloop::test]`.
//!
//! The user's body becomes the body of an inner `async fn __aioloop_body() -> Ret`, so it is
//! type-checked exactly like an ordinary `async fn` with a declared return type: `?`, `return`
//! and coercions such as `return Err(Box::new(e))` into `Box<dyn Error>` all see `Ret` while the
//! body is checked (an `async move { .. }` block would only learn its output type afterwards).
//! The generated synchronous fn hands that future to `Builder::run`.
//!
//! On a compile error the macro still emits a fn as close to the intended one as possible (as
//! tokio does), so that the `compile_error!` is the only error reported.

use proc_macro2::{Delimiter, Ident, Span, TokenStream, TokenTree};
use quote::{quote, ToTokens};
use syn::{Attribute, FnArg, Item, ItemFn, ReturnType, Type};

use crate::errors::Errors;
use crate::options::{self, Options};

/// Which attribute is being expanded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Main,
    Test,
}

impl Kind {
    /// The attribute as the user writes it, for error messages.
    pub(crate) fn attr(self) -> &'static str {
        match self {
            Kind::Main => "#[aioloop::main]",
            Kind::Test => "#[aioloop::test]",
        }
    }
}

/// What can still be generated from a function whose signature was rejected.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Recovery {
    /// Expand normally (the errors, if any, do not affect the expansion).
    Full,
    /// The body cannot be called from a fn without parameters: keep it type-checked in an
    /// uncalled inner fn with the original parameters, and make the generated fn diverge.
    Uncalled,
    /// The body uses `self`, which no nested fn can have: drop it.
    DropBody,
}

/// Entry point shared by both attributes (`proc_macro2` in and out, so it is unit-testable).
pub(crate) fn expand(kind: Kind, args: TokenStream, item: TokenStream) -> TokenStream {
    let mut errors = Errors::default();
    let opts = options::parse(kind, args).unwrap_or_else(|err| {
        errors.push(err);
        Options::default()
    });

    let func = match syn::parse2::<Item>(item.clone()) {
        Ok(Item::Fn(func)) => func,
        Ok(other) => {
            let msg = format!("{} can only be applied to an `async fn` item", kind.attr());
            errors.push(syn::Error::new(keyword_span(&other), msg));
            return with_item(&errors, item);
        }
        Err(err) => {
            errors.push(err);
            return with_item(&errors, item);
        }
    };

    let recovery = check_signature(kind, &func, &mut errors);
    let expanded = expand_fn(kind, &opts, func, recovery);
    let errors = errors.to_compile_error();
    quote! {
        #errors
        #expanded
    }
}

fn with_item(errors: &Errors, item: TokenStream) -> TokenStream {
    let errors = errors.to_compile_error();
    quote! {
        #errors
        #item
    }
}

/// Checks everything the expansion relies on, recording an error spanned at each offending
/// part of the signature, and says how much of the function can still be generated.
fn check_signature(kind: Kind, func: &ItemFn, errors: &mut Errors) -> Recovery {
    let sig = &func.sig;
    let attr = kind.attr();
    let mut recovery = Recovery::Full;

    if sig.asyncness.is_none() {
        errors.spanned(
            sig.fn_token,
            "the `async` keyword is missing from the function declaration",
        );
    }
    if let Some(constness) = &sig.constness {
        errors.spanned(constness, format!("{attr} functions cannot be `const`"));
    }
    if let Some(unsafety) = &sig.unsafety {
        errors.spanned(unsafety, format!("{attr} functions cannot be `unsafe`"));
        recovery = recovery.max(Recovery::Uncalled);
    }
    if let Some(abi) = &sig.abi {
        errors.spanned(abi, format!("{attr} functions cannot have an `extern` ABI"));
    }

    let receiver = sig.inputs.iter().find_map(|arg| match arg {
        FnArg::Receiver(receiver) => Some(receiver),
        FnArg::Typed(_) => None,
    });
    if let Some(receiver) = receiver {
        errors.spanned(
            receiver,
            format!("{attr} cannot be used on methods: remove the `self` parameter"),
        );
        recovery = Recovery::DropBody;
    } else if !sig.inputs.is_empty() || sig.variadic.is_some() {
        let (inputs, variadic) = (&sig.inputs, &sig.variadic);
        errors.spanned(
            quote!(#inputs #variadic),
            format!("{attr} functions cannot take arguments"),
        );
        recovery = recovery.max(Recovery::Uncalled);
    }

    if is_generic(sig) {
        let (generics, where_clause) = (&sig.generics, &sig.generics.where_clause);
        errors.spanned(
            quote!(#generics #where_clause),
            format!("{attr} functions cannot be generic"),
        );
        recovery = recovery.max(Recovery::Uncalled);
    }

    if kind == Kind::Test {
        for test_attr in func.attrs.iter().filter(|a| is_test_attr(a)) {
            errors.spanned(
                test_attr,
                "second test attribute: #[aioloop::test] already adds `#[test]`, remove this one",
            );
        }
    }

    recovery
}

/// `#[test]`, `#[core::prelude::v1::test]`, `#[tokio::test]`, a second `#[aioloop::test]`...
fn is_test_attr(attr: &Attribute) -> bool {
    attr.path().segments.last().is_some_and(|seg| seg.ident == "test")
}

/// Builds the synchronous fn (see the module docs).
fn expand_fn(kind: Kind, opts: &Options, func: ItemFn, recovery: Recovery) -> TokenStream {
    let ItemFn {
        attrs,
        vis,
        sig,
        block,
    } = func;
    let (fn_token, ident, output) = (&sig.fn_token, &sig.ident, &sig.output);
    let body_fn = Ident::new("__aioloop_body", Span::call_site());

    // A fn with `self` lives in an impl, where `#[test]` would be a second error.
    let is_test = kind == Kind::Test && recovery != Recovery::DropBody;
    let test_attr = is_test.then(|| quote!(#[::core::prelude::v1::test]));
    let attrs = attrs
        .iter()
        .filter(|attr| kind != Kind::Test || !is_test_attr(attr));
    let outer_output = if is_generic(&sig) {
        // The return type may name the rejected generic parameters.
        ReturnType::Default
    } else {
        output.clone()
    };

    let body = match recovery {
        Recovery::Full => {
            let run = run_call(kind, opts, output, &body_fn);
            quote! {
                async fn #body_fn() #output #block
                #run
            }
        }
        Recovery::Uncalled => {
            let unsafety = &sig.unsafety;
            let (generics, where_clause) = (&sig.generics, &sig.generics.where_clause);
            let inputs = &sig.inputs;
            quote! {
                #[allow(dead_code)]
                async #unsafety fn #body_fn #generics (#inputs) #output #where_clause #block
                ::core::unreachable!()
            }
        }
        Recovery::DropBody => quote!(::core::unreachable!()),
    };

    quote! {
        #test_attr
        #(#attrs)*
        #vis #fn_token #ident() #outer_output {
            #body
        }
    }
}

fn is_generic(sig: &syn::Signature) -> bool {
    !sig.generics.params.is_empty() || sig.generics.where_clause.is_some()
}

/// `::aioloop::EventLoop::builder()<options>.run(<the body's future>)`.
///
/// For tests the future is boxed as `Pin<Box<dyn Future<Output = Ret>>>` so that `run` is
/// instantiated once per output type rather than once per test (as tokio does); the box keeps
/// the future `'static`. `main` exists once, so it passes its future directly.
fn run_call(kind: Kind, opts: &Options, output: &ReturnType, body_fn: &Ident) -> TokenStream {
    let krate = match &opts.crate_path {
        Some(path) => path.to_token_stream(),
        None => quote!(::aioloop),
    };
    let start_paused = opts.start_paused.map(|on| quote!(.start_paused(#on)));
    let builder = quote!(#krate::EventLoop::builder() #start_paused);

    let ret_ty = match output {
        ReturnType::Default => quote!(()),
        ReturnType::Type(_, ty) => ty.to_token_stream(),
    };
    let returns_impl_trait = matches!(output, ReturnType::Type(_, ty) if matches!(**ty, Type::ImplTrait(_)));
    if kind == Kind::Test && !returns_impl_trait {
        quote! {
            let __aioloop_fut: ::core::pin::Pin<
                ::std::boxed::Box<dyn ::core::future::Future<Output = #ret_ty>>,
            > = ::std::boxed::Box::pin(#body_fn());
            #builder.run(__aioloop_fut)
        }
    } else {
        quote!(#builder.run(#body_fn()))
    }
}

/// The span of an item's keyword (`struct`, `impl`, ...), skipping its attributes and
/// visibility, so a "not a fn" error points at one token rather than the whole item.
fn keyword_span(item: &Item) -> Span {
    let mut tokens = item.to_token_stream().into_iter().peekable();
    while let Some(token) = tokens.next() {
        match &token {
            TokenTree::Punct(p) if p.as_char() == '#' => {
                tokens.next(); // the attribute's `[...]`
            }
            TokenTree::Ident(id) if id == "pub" => {
                if let Some(TokenTree::Group(g)) = tokens.peek() {
                    if g.delimiter() == Delimiter::Parenthesis {
                        tokens.next(); // `(crate)`, `(super)`, `(in path)`
                    }
                }
            }
            _ => return token.span(),
        }
    }
    Span::call_site()
}

#[cfg(test)]
mod tests;
