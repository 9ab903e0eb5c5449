//! A textual listing of a crate's public API (`clouddc`, `clouddc-auth`), for
//! the drift snapshots.
//!
//! It walks the crate's modules from `lib.rs` with `syn` and prints each public
//! item's signature (functions without bodies, structs with public fields, enums
//! with variants, traits, constants, re-exports and public inherent methods). The
//! generated module is covered by its own snapshot and is not repeated here.

use std::fmt::Write as _;
use std::path::Path;

use quote::ToTokens;
use syn::{Fields, ImplItem, Item, Visibility};

/// Lists the public API of the crate `name` whose sources are in `src`.
pub fn describe(src: &Path, name: &str) -> Result<String, String> {
    let mut out = String::new();
    walk_module(src, &src.join("lib.rs"), name, &mut out)?;
    Ok(out)
}

fn walk_module(dir: &Path, file: &Path, path: &str, out: &mut String) -> Result<(), String> {
    let text = std::fs::read_to_string(file)
        .map_err(|e| format!("cannot read {}: {e}", file.display()))?;
    let parsed =
        syn::parse_file(&text).map_err(|e| format!("cannot parse {}: {e}", file.display()))?;
    list_items(dir, &parsed.items, path, out)
}

fn is_public(vis: &Visibility) -> bool {
    matches!(vis, Visibility::Public(_))
}

/// An item's tokens as compact text: `Option<&str>`, not `Option < & str >`.
fn tokens(item: impl ToTokens) -> String {
    let mut text = item.to_token_stream().to_string();
    for (from, to) in [
        (" :: ", "::"),
        (":: ", "::"),
        (" < ", "<"),
        ("< ", "<"),
        (" <", "<"),
        (" >", ">"),
        ("& ", "&"),
        (" (", "("),
        ("( ", "("),
        (" )", ")"),
        (" ,", ","),
        (" ;", ";"),
        ("[ ", "["),
        (" ]", "]"),
        ("# [", "#["),
    ] {
        text = text.replace(from, to);
    }
    text
}

/// Whether an item is `#[doc(hidden)]`: test plumbing, not public API.
fn is_hidden(item: &Item) -> bool {
    let attrs = match item {
        Item::Mod(i) => &i.attrs,
        Item::Fn(i) => &i.attrs,
        Item::Struct(i) => &i.attrs,
        Item::Enum(i) => &i.attrs,
        Item::Trait(i) => &i.attrs,
        Item::Const(i) => &i.attrs,
        Item::Type(i) => &i.attrs,
        Item::Use(i) => &i.attrs,
        Item::Impl(i) => &i.attrs,
        _ => return false,
    };
    attrs.iter().any(|attr| {
        attr.path().is_ident("doc") && tokens(&attr.meta).replace(' ', "") == "doc(hidden)"
    })
}

fn list_items(dir: &Path, items: &[Item], path: &str, out: &mut String) -> Result<(), String> {
    for item in items.iter().filter(|item| !is_hidden(item)) {
        match item {
            Item::Mod(m) if is_public(&m.vis) => {
                let child = format!("{path}::{}", m.ident);
                let _ = writeln!(out, "pub mod {child}");
                if m.ident == "generated" {
                    continue;
                }
                match &m.content {
                    Some((_, inner)) => list_items(dir, inner, &child, out)?,
                    None => {
                        let flat = dir.join(format!("{}.rs", m.ident));
                        let nested = dir.join(m.ident.to_string());
                        let file = if flat.exists() {
                            flat
                        } else {
                            nested.join("mod.rs")
                        };
                        walk_module(&nested, &file, &child, out)?;
                    }
                }
            }
            Item::Fn(f) if is_public(&f.vis) => {
                let _ = writeln!(out, "{path}: {}", tokens(&f.sig));
            }
            Item::Struct(s) if is_public(&s.vis) => {
                let fields: Vec<String> = match &s.fields {
                    Fields::Named(named) => named
                        .named
                        .iter()
                        .filter(|f| is_public(&f.vis))
                        .map(|f| {
                            format!(
                                "{}: {}",
                                f.ident
                                    .as_ref()
                                    .map(ToString::to_string)
                                    .unwrap_or_default(),
                                tokens(&f.ty)
                            )
                        })
                        .collect(),
                    Fields::Unnamed(unnamed) => unnamed
                        .unnamed
                        .iter()
                        .filter(|f| is_public(&f.vis))
                        .map(|f| tokens(&f.ty))
                        .collect(),
                    Fields::Unit => Vec::new(),
                };
                let _ = writeln!(
                    out,
                    "{path}: struct {}{} {{ {} }}",
                    s.ident,
                    tokens(&s.generics),
                    fields.join(", ")
                );
            }
            Item::Enum(e) if is_public(&e.vis) => {
                let variants: Vec<String> = e.variants.iter().map(variant_signature).collect();
                let _ = writeln!(
                    out,
                    "{path}: enum {}{} {{ {} }}",
                    e.ident,
                    tokens(&e.generics),
                    variants.join(" | ")
                );
            }
            Item::Trait(t) if is_public(&t.vis) => {
                let methods: Vec<String> = t
                    .items
                    .iter()
                    .filter_map(|i| match i {
                        syn::TraitItem::Fn(f) => Some(tokens(&f.sig)),
                        _ => None,
                    })
                    .collect();
                let _ = writeln!(
                    out,
                    "{path}: trait {} {{ {} }}",
                    t.ident,
                    methods.join("; ")
                );
            }
            Item::Const(c) if is_public(&c.vis) => {
                let _ = writeln!(out, "{path}: const {}: {}", c.ident, tokens(&c.ty));
            }
            Item::Type(t) if is_public(&t.vis) => {
                let _ = writeln!(out, "{path}: type {} = {}", t.ident, tokens(&t.ty));
            }
            Item::Use(u) if is_public(&u.vis) => {
                let _ = writeln!(out, "{path}: pub use {}", tokens(&u.tree));
            }
            Item::Impl(i) if i.trait_.is_none() => {
                for member in &i.items {
                    if let ImplItem::Fn(f) = member
                        && is_public(&f.vis)
                    {
                        let _ = writeln!(
                            out,
                            "{path}: impl {} {{ {} }}",
                            tokens(&i.self_ty),
                            tokens(&f.sig)
                        );
                    }
                }
            }
            Item::Impl(i) => {
                if let Some((_, trait_path, _)) = &i.trait_ {
                    let _ = writeln!(
                        out,
                        "{path}: impl {} for {}",
                        tokens(trait_path),
                        tokens(&i.self_ty)
                    );
                }
            }
            _ => {}
        }
    }
    Ok(())
}

/// A variant without its attributes: doc wording and `#[error]` text are not API.
fn variant_signature(variant: &syn::Variant) -> String {
    let mut bare = variant.clone();
    bare.attrs.clear();
    for field in bare.fields.iter_mut() {
        field.attrs.clear();
    }
    tokens(&bare)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hidden_items_are_left_out() {
        let file: syn::File = syn::parse_str(
            "#[doc(hidden)] pub mod testing {} pub mod shown {} #[doc(hidden)] pub fn plumbing() {}",
        )
        .expect("parses");
        let mut out = String::new();
        list_items(Path::new("."), &file.items[..2], "c", &mut out).expect("lists");
        assert_eq!(out, "pub mod c::shown\n");
        assert!(is_hidden(&file.items[2]));
    }
}
