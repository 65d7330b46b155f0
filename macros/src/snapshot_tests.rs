//! Expansion snapshots: what each shape and option generates, pretty-printed.
//! Review changes with `cargo insta review` (or `INSTA_UPDATE=always` and the
//! git diff); the files live in `macros/src/snapshots/`.

use proc_macro2::TokenStream;
use quote::quote;

use crate::entry;

/// The expansion as Rust source, or its raw tokens when it is not a file.
fn pretty(tokens: TokenStream) -> String {
    match syn::parse2::<syn::File>(tokens.clone()) {
        Ok(file) => prettyplease::unparse(&file),
        Err(error) => format!("// not parseable as a file: {error}\n{tokens}\n"),
    }
}

macro_rules! snapshot {
    ($test:ident, $entry:ident($($args:tt)*), $($item:tt)*) => {
        #[test]
        fn $test() {
            let expansion = entry::$entry(quote!($($args)*), quote!($($item)*));
            insta::assert_snapshot!(pretty(expansion));
        }
    };
}

// `#[traced]`: shapes.

snapshot!(
    sync_function,
    traced(),
    fn load_cart(id: u64) -> Result<Cart, DbError> {
        let cart = db::find(id)?;
        Ok(cart)
    }
);

snapshot!(
    sync_function_returning_nothing,
    traced(),
    pub fn ping() {
        send();
    }
);

snapshot!(
    sync_function_returning_a_borrow,
    traced(),
    fn first<'a>(items: &'a [String], fallback: &str) -> Option<&'a str> {
        items.first().map(String::as_str)
    }
);

snapshot!(
    sync_function_returning_impl_trait,
    traced(),
    fn evens(limit: u32) -> impl Iterator<Item = u32> {
        (0..limit).filter(|n| n % 2 == 0)
    }
);

snapshot!(
    never_returning_function,
    traced(),
    fn fatal(message: &str) -> ! {
        panic!("{message}")
    }
);

snapshot!(
    async_function,
    traced(),
    async fn get_article(id: u64, user: &str) -> Result<Article, ApiError> {
        let article = repo.get(id).await?;
        Ok(article)
    }
);

snapshot!(
    async_function_returning_nothing,
    traced(),
    async fn flush(&self) {
        self.queue.flush().await;
    }
);

snapshot!(
    impl_future_function,
    traced(),
    fn fetch(id: u64) -> impl Future<Output = Result<Row, Error>> + Send {
        let client = CLIENT.clone();
        async move { client.get(id).await }
    }
);

snapshot!(
    impl_future_unpin_function,
    traced(),
    fn ready(id: u64) -> impl Future<Output = Result<u64, Error>> + Unpin {
        std::future::ready(Ok(id))
    }
);

snapshot!(
    boxed_future_function,
    traced(),
    fn fetch(&self, id: u64) -> Pin<Box<dyn Future<Output = u64> + Send + '_>> {
        Box::pin(async move { self.get(id).await })
    }
);

snapshot!(
    pattern_parameters,
    traced(),
    fn area(#[attr] (width, height): (u32, u32), #[attr("point.x")] Point { x, .. }: Point) -> u32 {
        width * height + x
    }
);

snapshot!(
    async_pattern_parameters,
    traced(),
    async fn area((width, height): (u32, u32)) -> u32 {
        width * height
    }
);

snapshot!(
    async_parameters_rebound_in_order,
    traced(attrs(order.id = id)),
    async fn handle(
        &self,
        Path(id): Path<u64>,
        _: Guard,
        mut retries: u32,
        (ref mut total, _): (u64, Extra),
        #[cfg(feature = "audit")] audit: Audit,
        #[allow(unused_variables)] unused: u8,
    ) -> u64 {
        retries += 1;
        *total += id;
        *total
    }
);

snapshot!(
    inner_attributes,
    traced(),
    fn lenient() {
        #![allow(unused_variables)]
        let x = 1;
    }
);

snapshot!(
    async_early_return_needing_a_coercion,
    traced(),
    async fn load(fail: bool) -> Result<u8, Box<dyn std::error::Error + Send + Sync>> {
        if fail {
            return Err(Box::new(Missing));
        }
        Ok(1)
    }
);

snapshot!(
    impl_trait_inside_the_return_type,
    traced(),
    fn parse(text: &str) -> Result<impl Debug + '_, ParseError> {
        Ok(text.trim())
    }
);

snapshot!(
    track_caller_function,
    traced(),
    #[track_caller]
    fn expect_row(row: Option<Row>, (table, _): (&str, u8)) -> Row {
        row.unwrap_or_else(|| panic!("no row in {table}"))
    }
);

snapshot!(
    track_caller_never_returning,
    traced(),
    #[track_caller]
    fn fail(message: &str) -> ! {
        panic!("{message}")
    }
);

snapshot!(
    runtime_entry_attribute_below,
    traced(kind = server),
    #[tokio::test(flavor = "multi_thread")]
    #[ignore]
    async fn serves() {}
);

snapshot!(
    signature_passes_through,
    traced(),
    /// Docs stay.
    #[must_use]
    #[cfg(feature = "db")]
    pub(crate) unsafe extern "C" fn r#raw<'a, T: Copy, const N: usize>(r#in: &'a [T; N]) -> T
    where
        T: Default,
    {
        r#in[0]
    }
);

// `#[traced]`: options.

snapshot!(
    option_name_and_kind,
    traced(name = "GET /articles/{id}", kind = server),
    fn get_article(id: u64) -> Article {
        repo.get(id)
    }
);

snapshot!(
    option_attrs,
    traced(attrs(
        db.system.name = "postgresql",
        "db.query.text" = SQL,
        rows = batch.len(),
        batch
    )),
    fn save(batch: &[Row]) -> u64 {
        0
    }
);

snapshot!(
    parameter_attrs,
    traced(),
    fn get(#[attr] id: u64, #[attr("enduser.id")] user: &str, ignored: bool) -> bool {
        ignored
    }
);

snapshot!(
    option_ret,
    traced(ret),
    fn total(&self) -> Result<u64, Error> {
        Ok(self.sum)
    }
);

snapshot!(option_root, traced(root), fn background_job() {});

snapshot!(
    option_parent,
    traced(parent = cx, kind = consumer),
    fn handle(cx: &Context, message: Message) {}
);

snapshot!(
    option_links,
    traced(link = first, link = Context::current()),
    fn merge(first: &SpanContext) {}
);

snapshot!(
    option_suppress,
    traced(suppress),
    async fn health() -> &'static str {
        "ok"
    }
);

snapshot!(
    option_crate,
    traced(crate = my::reexported::traced),
    fn load() {}
);

// `#[traced]`: errors still emit the function.

snapshot!(
    error_unknown_option,
    traced(nmae = "x"),
    fn load(#[attr] id: u64) -> u64 {
        id
    }
);

snapshot!(
    error_const_fn,
    traced(),
    const fn answer() -> u32 {
        42
    }
);

snapshot!(error_on_a_struct, traced(), struct Cart;);

// `#[traced_impl]`.

snapshot!(impl_inherent, traced_impl(kind = client),
    impl ArticleRepo {
        const TABLE: &'static str = "articles";

        pub fn new(pool: Pool) -> Self { ArticleRepo { pool } }

        fn get(&self, #[attr] id: u64) -> Result<Article, DbError> { self.pool.get(id) }

        async fn put(&mut self, article: Article) -> Result<(), DbError> {
            self.pool.put(article).await
        }
    }
);

snapshot!(impl_trait, traced_impl(),
    impl Store for Pg {
        type Row = PgRow;

        fn name(&self) -> &'static str { "pg" }

        async fn load(&self, key: &str) -> Option<PgRow> { self.query(key).await }
    }
);

snapshot!(
    impl_generic,
    traced_impl(attrs(store = std::any::type_name::<T>())),
    impl<'a, T: Store + 'a, const N: usize> repo::Repo<'a, T, N>
    where
        T::Key: Clone,
    {
        fn get(self: Arc<Self>, key: &T::Key) -> Option<T::Row> {
            self.store.get(key)
        }

        fn pinned(self: Pin<&mut Self>) -> usize {
            N
        }
    }
);

// Associated functions without a receiver are left as written unless marked;
// marked, they take the block's options but for `attrs` reading `self`.
snapshot!(impl_associated_functions,
    traced_impl(kind = client, attrs(db.system.name = "postgresql", db.namespace = self.db.clone())),
    impl ArticleRepo {
        pub const fn new(pool: Pool) -> Self { ArticleRepo { pool } }

        fn key(id: u64) -> String { format!("article:{id}") }

        #[traced]
        pub async fn connect(#[attr] url: &str) -> Result<Self, DbError> { Pool::open(url).await.map(Self::new) }

        #[traced(kind = internal)]
        fn parse(row: &str) -> Article { Article::from(row) }

        fn get(&self, id: u64) -> Result<Article, DbError> { self.pool.get(&Self::key(id)) }
    }
);

snapshot!(
    impl_async_trait_above,
    traced_impl(kind = client),
    #[async_trait]
    #[allow(dead_code)]
    impl Store for Pg {
        async fn put(&self, row: Row) -> Result<(), Error> {
            self.insert(row).await
        }
    }
);

// What `#[async_trait]` hands over when it runs first.
snapshot!(impl_async_trait_below, traced_impl(kind = client),
    impl Store for Pg {
        fn put<'life0, 'async_trait>(
            &'life0 self,
            row: Row,
        ) -> ::core::pin::Pin<
            Box<dyn ::core::future::Future<Output = Result<(), Error>> + ::core::marker::Send + 'async_trait>,
        >
        where
            'life0: 'async_trait,
            Self: 'async_trait,
        {
            Box::pin(async move {
                let __self = self;
                let row = row;
                let __ret: Result<(), Error> = { __self.insert(row).await };
                #[allow(unreachable_code)]
                __ret
            })
        }
    }
);

snapshot!(impl_overrides_and_opt_out, traced_impl(kind = client, attrs(db.system.name = "postgresql"), ret),
    impl ArticleRepo {
        #[traced(kind = internal, attrs(db.system.name = "memory", hit = true))]
        fn cache_key(&self, id: u64) -> String { format!("{id}") }

        #[untraced]
        #[inline]
        fn helper(&self, #[allow(unused)] id: u64) -> u64 { id }

        fn clear(&self) {}
    }
);

snapshot!(impl_cfg_attr_on_methods, traced_impl(kind = client),
    impl Switch {
        #[cfg_attr(feature = "verbose", traced(name = "switch on"), inline)]
        fn on(&self) {}

        #[cfg_attr(test, untraced)]
        fn off(&self) {}
    }
);

snapshot!(impl_errors_together, traced_impl(),
    impl Cart {
        #[traced(kind = rpc)]
        fn len(&self) -> usize { self.items.len() }

        const fn empty() -> Cart { Cart }

        #[untraced(please)]
        fn first(&self) -> Option<&u32> { self.items.first() }

        fn area(&self, #[attr] (w, h): (u32, u32)) -> u32 { w * h }

        fn total(&self) -> u32 { self.items.iter().sum() }
    }
);

snapshot!(impl_level_call_options_rejected, traced_impl(name = "cart", root),
    impl Cart {
        fn total(&self) -> u32 { 0 }
    }
);

snapshot!(
    untraced_is_the_identity,
    untraced(),
    #[derive(Debug)]
    struct Anything;
);
