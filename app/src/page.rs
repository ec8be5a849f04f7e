//! What every page (wall, duty console, gallery) does first: read its language from the address
//! (`?lang=en`), tell the browser (`<html lang>`, the title), and provide the number style of that
//! language to the widgets.

use leptos::prelude::*;
use yiping_widgets::NumberStyle;

use crate::i18n::Lang;

/// The page's query string (`?lang=en&…`, or empty).
pub fn query() -> String {
    web_sys::window().and_then(|w| w.location().search().ok()).unwrap_or_default()
}

/// Set the page up in the language of `query`, titled `(zh, en)`; returns the language.
pub fn start(query: &str, title: (&str, &str)) -> Lang {
    let lang = Lang::from_query(query);
    if let Some(doc) = web_sys::window().and_then(|w| w.document()) {
        if let Some(el) = doc.document_element() {
            let _ = el.set_attribute("lang", lang.tag());
        }
        doc.set_title(lang.pick(title.0, title.1));
    }
    provide_context(lang.pick(NumberStyle::Chinese, NumberStyle::Western));
    lang
}
