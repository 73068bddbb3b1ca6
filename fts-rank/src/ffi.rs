//! The function's registration and body, through SQLite's C API. Every pointer here comes from
//! SQLite for the duration of the call it is passed to.

use crate::{document_length, IdfCache, QueryStats, Tally, CACHE_CAPACITY, FILTER_MARK, IDF_TTL};
use libsqlite3_sys as sql;
use std::ffi::{c_char, c_int, c_void};
use std::ptr;
use std::sync::Mutex;
use std::time::Instant;

/// A call into FTS5's API; an absent entry point is an error, not a crash.
macro_rules! call {
    ($api:expr, $f:ident, $($arg:expr),*) => {
        match $api.$f {
            Some(f) => f($($arg),*),
            None => return Err(sql::SQLITE_ERROR),
        }
    };
}

/// `call!` for the entry points that answer an SQLite code.
macro_rules! check {
    ($api:expr, $f:ident, $($arg:expr),*) => {{
        let rc = call!($api, $f, $($arg),*);
        if rc != sql::SQLITE_OK {
            return Err(rc);
        }
    }};
}

/// Adds `bazaar_bm25`, `bazaar_tally`, `bazaar_stable_plans` and `bazaar_fts5_tokens` to every
/// SQLite connection this process opens from now on (SQLite ignores a second call). Returns
/// SQLite's error code if the hook could not be added.
///
/// The first call in the process, if it comes before SQLite's first connection, also puts
/// SQLite in multi-thread mode: no mutex around each call on a connection. The bundled SQLite
/// is built serialized, so every `sqlite3_step`, bind and column read locked and unlocked its
/// connection's mutex (5.5% of a facets call at 1M listings); a pooled connection is only ever
/// used by one thread at a time (Diesel's connection is not `Sync`), which is all multi-thread
/// mode asks. Once SQLite has started, it refuses the change (`SQLITE_MISUSE`) and stays
/// serialized: slower, never wrong. Only the first call tries, since `sqlite3_config` must not
/// run while another thread is inside SQLite, as later calls' could.
pub fn install() -> Result<(), i32> {
    static MODE: std::sync::Once = std::sync::Once::new();
    // SAFETY: `sqlite3_config` only records the mode before SQLite starts and refuses after.
    MODE.call_once(|| unsafe {
        sql::sqlite3_config(sql::SQLITE_CONFIG_MULTITHREAD);
    });
    // SAFETY: `register` has the signature SQLite's auto-extension hook calls.
    let rc = unsafe { sql::sqlite3_auto_extension(Some(register)) };
    if rc == sql::SQLITE_OK {
        Ok(())
    } else {
        Err(rc)
    }
}

/// Run by SQLite as each connection opens, after its built-in FTS5 is set up.
unsafe extern "C" fn register(
    db: *mut sql::sqlite3,
    _err: *mut *mut c_char,
    _routines: *const sql::sqlite3_api_routines,
) -> c_int {
    let rc = sql::sqlite3_create_function_v2(
        db,
        c"bazaar_stable_plans".as_ptr(),
        0,
        sql::SQLITE_UTF8 | sql::SQLITE_DIRECTONLY,
        ptr::null_mut(),
        Some(stable_plans),
        None,
        None,
        None,
    );
    if rc != sql::SQLITE_OK {
        return rc;
    }
    let rc = sql::sqlite3_create_function_v2(
        db,
        c"bazaar_tally".as_ptr(),
        -1,
        sql::SQLITE_UTF8 | sql::SQLITE_INNOCUOUS,
        ptr::null_mut(),
        None,
        Some(tally_step),
        Some(tally_final),
        None,
    );
    if rc != sql::SQLITE_OK {
        return rc;
    }
    let api = fts5_api(db);
    if api.is_null() {
        // A build without FTS5 has nothing to rank; a query naming the function fails clearly.
        return sql::SQLITE_OK;
    }
    // The FTS5 API lives as long as the connection, as does the function that keeps it.
    let rc = sql::sqlite3_create_function_v2(
        db,
        c"bazaar_fts5_tokens".as_ptr(),
        2,
        sql::SQLITE_UTF8 | sql::SQLITE_DETERMINISTIC | sql::SQLITE_INNOCUOUS,
        api.cast(),
        Some(fts5_tokens),
        None,
        None,
        None,
    );
    if rc != sql::SQLITE_OK {
        return rc;
    }
    let Some(create) = (*api).xCreateFunction else {
        return sql::SQLITE_ERROR;
    };
    let cache = Box::into_raw(Box::new(Mutex::new(IdfCache::new(IDF_TTL, CACHE_CAPACITY))));
    // Once registered, FTS5 calls `drop_cache` when the connection closes.
    let rc = create(
        api,
        c"bazaar_bm25".as_ptr(),
        cache.cast(),
        Some(rank),
        Some(drop_cache),
    );
    if rc != sql::SQLITE_OK {
        drop_cache(cache.cast());
    }
    rc
}

/// The connection's FTS5 API, or null without FTS5 (the documented `SELECT fts5(?1)`).
unsafe fn fts5_api(db: *mut sql::sqlite3) -> *mut sql::fts5_api {
    let mut stmt = ptr::null_mut();
    let mut api: *mut sql::fts5_api = ptr::null_mut();
    if sql::sqlite3_prepare_v2(
        db,
        c"SELECT fts5(?1)".as_ptr(),
        -1,
        &mut stmt,
        ptr::null_mut(),
    ) == sql::SQLITE_OK
    {
        sql::sqlite3_bind_pointer(
            stmt,
            1,
            ptr::addr_of_mut!(api).cast(),
            c"fts5_api_ptr".as_ptr(),
            None,
        );
        sql::sqlite3_step(stmt);
    }
    sql::sqlite3_finalize(stmt);
    api
}

/// `bazaar_stable_plans()`: turns on the connection's query planner stability guarantee
/// (`SQLITE_DBCONFIG_ENABLE_QPSG`) and answers 1 (0 if SQLite refused). SQLite then plans a
/// statement without the values bound to it, and so never marks a statement to be compiled
/// again when a parameter is bound anew: without it every statement with a bound `LIMIT ?`
/// (every Diesel `.limit(n)`) was compiled again on each run. It also stops SQLite from
/// choosing a partial index by a bound value (`status = ?` for an index `WHERE status =
/// 'open'`), which is why only connections that serve reads call it.
unsafe extern "C" fn stable_plans(
    ctx: *mut sql::sqlite3_context,
    _n_args: c_int,
    _args: *mut *mut sql::sqlite3_value,
) {
    let db = sql::sqlite3_context_db_handle(ctx);
    let rc = sql::sqlite3_db_config(
        db,
        sql::SQLITE_DBCONFIG_ENABLE_QPSG,
        1 as c_int,
        ptr::null_mut::<c_int>(),
    );
    sql::sqlite3_result_int(ctx, c_int::from(rc == sql::SQLITE_OK));
}

/// `bazaar_fts5_tokens(tokenizer, text)`: the tokens an FTS5 table whose `tokenize` option is
/// `tokenizer` (e.g. `'porter unicode61 remove_diacritics 2'`) indexes `text` as, joined by
/// single spaces (`''` when it has none, NULL when an argument is NULL): what its words index
/// holds a word as, for telling which words it holds as one term. An unknown tokenizer or bad
/// arguments are FTS5's own error.
unsafe extern "C" fn fts5_tokens(
    ctx: *mut sql::sqlite3_context,
    n_args: c_int,
    args: *mut *mut sql::sqlite3_value,
) {
    let api = sql::sqlite3_user_data(ctx).cast::<sql::fts5_api>();
    let args = arguments(args, n_args);
    let (Some(spec), Some(text)) = (
        args.first().and_then(|&v| bytes(v)),
        args.get(1).and_then(|&v| bytes(v)),
    ) else {
        sql::sqlite3_result_null(ctx);
        return;
    };
    match tokens(api, spec, text) {
        Ok(out) => sql::sqlite3_result_text(
            ctx,
            out.as_ptr().cast(),
            out.len() as c_int,
            sql::SQLITE_TRANSIENT(),
        ),
        Err(rc) => sql::sqlite3_result_error_code(ctx, rc),
    }
}

/// `text` tokenized as a document by the FTS5 tokenizer `spec` names (its name, then its
/// arguments, separated by spaces), the tokens joined by single spaces.
unsafe fn tokens(api: *mut sql::fts5_api, spec: &[u8], text: &[u8]) -> Result<Vec<u8>, c_int> {
    let words: Vec<std::ffi::CString> = spec
        .split(u8::is_ascii_whitespace)
        .filter(|w| !w.is_empty())
        .map(|w| std::ffi::CString::new(w).map_err(|_| sql::SQLITE_MISUSE))
        .collect::<Result<_, _>>()?;
    let (name, rest) = words.split_first().ok_or(sql::SQLITE_MISUSE)?;
    let text_len = c_int::try_from(text.len()).map_err(|_| sql::SQLITE_TOOBIG)?;
    let mut user = ptr::null_mut();
    // SAFETY: every field is an optional function pointer; FTS5 fills them in.
    let mut tokenizer: sql::fts5_tokenizer = std::mem::zeroed();
    check!(
        *api,
        xFindTokenizer,
        api,
        name.as_ptr(),
        &mut user,
        &mut tokenizer
    );
    let mut argv: Vec<*const c_char> = rest.iter().map(|w| w.as_ptr()).collect();
    let mut made = ptr::null_mut();
    check!(
        tokenizer,
        xCreate,
        user,
        argv.as_mut_ptr(),
        argv.len() as c_int,
        &mut made
    );
    let mut out: Vec<u8> = Vec::new();
    let rc = match tokenizer.xTokenize {
        Some(tokenize) => tokenize(
            made,
            ptr::addr_of_mut!(out).cast(),
            sql::FTS5_TOKENIZE_DOCUMENT as c_int,
            text.as_ptr().cast(),
            text_len,
            Some(push_token),
        ),
        None => sql::SQLITE_ERROR,
    };
    if let Some(delete) = tokenizer.xDelete {
        delete(made);
    }
    if rc == sql::SQLITE_OK {
        Ok(out)
    } else {
        Err(rc)
    }
}

/// The tokenizer's callback: one token onto the output (a `Vec<u8>`), after a space.
unsafe extern "C" fn push_token(
    out: *mut c_void,
    _flags: c_int,
    token: *const c_char,
    len: c_int,
    _start: c_int,
    _end: c_int,
) -> c_int {
    let out = &mut *out.cast::<Vec<u8>>();
    if !out.is_empty() {
        out.push(b' ');
    }
    if !token.is_null() && len > 0 {
        out.extend_from_slice(std::slice::from_raw_parts(token.cast::<u8>(), len as usize));
    }
    sql::SQLITE_OK
}

/// `bazaar_tally`'s step: one row into the [`Tally`] kept in the aggregate's context (a pointer
/// to it, made on the first row).
unsafe extern "C" fn tally_step(
    ctx: *mut sql::sqlite3_context,
    n_args: c_int,
    args: *mut *mut sql::sqlite3_value,
) {
    let args = arguments(args, n_args);
    let slot = sql::sqlite3_aggregate_context(ctx, std::mem::size_of::<*mut Tally>() as c_int)
        .cast::<*mut Tally>();
    if slot.is_null() {
        sql::sqlite3_result_error_nomem(ctx);
        return;
    }
    if (*slot).is_null() {
        *slot = Box::into_raw(Box::default());
    }
    let cap = args.first().map_or(0, |&v| sql::sqlite3_value_int64(v));
    let number = args
        .get(1)
        .filter(|&&v| sql::sqlite3_value_type(v) != sql::SQLITE_NULL)
        .map(|&v| sql::sqlite3_value_int64(v));
    let texts = args.get(2..).unwrap_or_default().iter().map(|&v| bytes(v));
    (**slot).add(cap, number, texts);
}

/// `bazaar_tally`'s answer: the [`Tally`] as JSON (no rows: an empty one). SQLite calls this
/// once per aggregate, also when a statement is reset halfway, so the tally is always freed.
unsafe extern "C" fn tally_final(ctx: *mut sql::sqlite3_context) {
    let slot = sql::sqlite3_aggregate_context(ctx, 0).cast::<*mut Tally>();
    let tally = if slot.is_null() || (*slot).is_null() {
        Tally::default()
    } else {
        let tally = *Box::from_raw(*slot);
        *slot = ptr::null_mut();
        tally
    };
    match serde_json::to_string(&tally) {
        Ok(json) => sql::sqlite3_result_text(
            ctx,
            json.as_ptr().cast(),
            json.len() as c_int,
            sql::SQLITE_TRANSIENT(),
        ),
        Err(_) => sql::sqlite3_result_error_code(ctx, sql::SQLITE_ERROR),
    }
}

/// A BLOB argument's bytes; `None` for any other type (NULL: the caller has none).
unsafe fn blob<'a>(v: *mut sql::sqlite3_value) -> Option<&'a [u8]> {
    if sql::sqlite3_value_type(v) == sql::SQLITE_BLOB {
        bytes(v)
    } else {
        None
    }
}

/// A value's bytes (`None`: NULL), read as a blob: a text's bytes as they are, with no
/// conversion and no terminating NUL asked for.
unsafe fn bytes<'a>(v: *mut sql::sqlite3_value) -> Option<&'a [u8]> {
    if sql::sqlite3_value_type(v) == sql::SQLITE_NULL {
        return None;
    }
    let bytes = sql::sqlite3_value_blob(v).cast::<u8>();
    let len = sql::sqlite3_value_bytes(v).max(0) as usize;
    Some(if bytes.is_null() || len == 0 {
        &[]
    } else {
        std::slice::from_raw_parts(bytes, len)
    })
}

/// A function's arguments as SQLite passes them.
unsafe fn arguments<'a>(
    args: *mut *mut sql::sqlite3_value,
    n_args: c_int,
) -> &'a [*mut sql::sqlite3_value] {
    if args.is_null() || n_args <= 0 {
        &[]
    } else {
        std::slice::from_raw_parts(args, n_args as usize)
    }
}

unsafe extern "C" fn drop_cache(cache: *mut c_void) {
    drop(Box::from_raw(cache.cast::<Mutex<IdfCache>>()));
}

unsafe extern "C" fn drop_stats(stats: *mut c_void) {
    drop(Box::from_raw(stats.cast::<QueryStats>()));
}

/// The function's body: one matching row's score.
unsafe extern "C" fn rank(
    api: *const sql::Fts5ExtensionApi,
    fts: *mut sql::Fts5Context,
    ctx: *mut sql::sqlite3_context,
    n_args: c_int,
    args: *mut *mut sql::sqlite3_value,
) {
    let args = arguments(args, n_args);
    match score_row(&*api, fts, args) {
        Ok(score) => sql::sqlite3_result_double(ctx, score),
        Err(rc) => sql::sqlite3_result_error_code(ctx, rc),
    }
}

unsafe fn score_row(
    api: &sql::Fts5ExtensionApi,
    fts: *mut sql::Fts5Context,
    args: &[*mut sql::sqlite3_value],
) -> Result<f64, c_int> {
    let stats = query_stats(api, fts, args)?;
    let mut freq = vec![0.0; stats.idf.len()];
    let mut n_inst: c_int = 0;
    check!(api, xInstCount, fts, &mut n_inst);
    for i in 0..n_inst {
        let (mut phrase, mut column, mut offset) = (0, 0, 0);
        check!(api, xInst, fts, i, &mut phrase, &mut column, &mut offset);
        // Weights follow the query text and the sizes: argument 2 weighs column 0.
        let weight = match usize::try_from(column).ok().and_then(|c| args.get(c + 2)) {
            Some(&v) => sql::sqlite3_value_double(v),
            None => 1.0,
        };
        if let Some(f) = freq.get_mut(phrase as usize) {
            *f += weight;
        }
    }
    let doc_len = match args.get(1).and_then(|&v| blob(v)).and_then(document_length) {
        Some(n) => n,
        None => {
            let mut n: c_int = 0;
            check!(api, xColumnSize, fts, -1, &mut n);
            i64::from(n)
        }
    };
    Ok(stats.score(&freq, doc_len as f64))
}

/// This query's stats: kept on the query by its first row, else from the connection's cache,
/// else counted as bm25 counts them (and cached).
unsafe fn query_stats<'q>(
    api: &sql::Fts5ExtensionApi,
    fts: *mut sql::Fts5Context,
    args: &[*mut sql::sqlite3_value],
) -> Result<&'q QueryStats, c_int> {
    let kept = call!(api, xGetAuxdata, fts, 0).cast::<QueryStats>();
    if !kept.is_null() {
        return Ok(&*kept);
    }
    let key = match args.first() {
        Some(&v) => {
            let text = sql::sqlite3_value_text(v);
            let len = sql::sqlite3_value_bytes(v);
            if text.is_null() || len <= 0 {
                &[][..]
            } else {
                std::slice::from_raw_parts(text, len as usize)
            }
        }
        None => &[][..],
    };
    let phrases = call!(api, xPhraseCount, fts).max(0) as usize;
    let cache = &*call!(api, xUserData, fts).cast::<Mutex<IdfCache>>();
    let now = Instant::now();
    let cached = cache
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .get(key, phrases, now);
    let stats = match cached {
        Some(s) => s,
        None => {
            let s = count(api, fts, phrases)?;
            cache
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .put(key, s.clone(), now);
            s
        }
    };
    let stats = Box::into_raw(Box::new(stats));
    // On failure FTS5 frees the value itself (with `drop_stats`).
    check!(api, xSetAuxdata, fts, stats.cast(), Some(drop_stats));
    Ok(&*stats)
}

/// The collection's size and each phrase's matching rows, as bm25 counts them.
unsafe fn count(
    api: &sql::Fts5ExtensionApi,
    fts: *mut sql::Fts5Context,
    phrases: usize,
) -> Result<QueryStats, c_int> {
    let (mut rows, mut tokens): (i64, i64) = (0, 0);
    check!(api, xRowCount, fts, &mut rows);
    check!(api, xColumnTotalSize, fts, -1, &mut tokens);
    let mut hits = Vec::with_capacity(phrases);
    let mut filters = Vec::new();
    for i in 0..phrases {
        let mut n: i64 = 0;
        if is_filter(api, fts, i) {
            filters.push(i);
        } else {
            check!(
                api,
                xQueryPhrase,
                fts,
                i as c_int,
                ptr::addr_of_mut!(n).cast(),
                Some(count_row)
            );
        }
        hits.push(n);
    }
    let mut stats = QueryStats::new(rows, tokens, &hits);
    for i in filters {
        stats.idf[i] = 0.0;
    }
    Ok(stats)
}

/// Whether phrase `i` of the query is a filter term ([`FILTER_MARK`] first): never counted
/// (a filter most rows pass would cost a count of most rows, once a minute per filter
/// combination, which a client can vary at will) and never scored. An FTS5 too old to show a
/// phrase's tokens (API version below 3) counts every phrase.
unsafe fn is_filter(api: &sql::Fts5ExtensionApi, fts: *mut sql::Fts5Context, i: usize) -> bool {
    let Some(query_token) = api.xQueryToken.filter(|_| api.iVersion >= 3) else {
        return false;
    };
    let (mut token, mut len): (*const c_char, c_int) = (ptr::null(), 0);
    let mut mark = [0u8; 4];
    let mark = FILTER_MARK.encode_utf8(&mut mark).as_bytes();
    query_token(fts, i as c_int, 0, &mut token, &mut len) == sql::SQLITE_OK
        && !token.is_null()
        && len as usize >= mark.len()
        && std::slice::from_raw_parts(token.cast::<u8>(), mark.len()) == mark
}

unsafe extern "C" fn count_row(
    _api: *const sql::Fts5ExtensionApi,
    _fts: *mut sql::Fts5Context,
    n: *mut c_void,
) -> c_int {
    *n.cast::<i64>() += 1;
    sql::SQLITE_OK
}
