use traced::opentelemetry::trace::SpanKind;
use traced::testing::capture;
use traced::{traced_impl, untraced};

struct Articles;

#[traced_impl(kind = client, attrs(db.system.name = "postgresql"), ret)]
impl Articles {
    fn get(&self, #[attr] id: u64) -> Option<String> {
        self.cached(id)
    }

    #[traced(kind = internal, name = "articles cache", attrs(db.system.name = "memory", hit = true))]
    fn cached(&self, id: u64) -> Option<String> {
        self.helper(id)
    }

    #[untraced]
    #[inline]
    fn helper(&self, id: u64) -> Option<String> {
        Some(self.render(id))
    }

    #[traced::untraced]
    fn render(&self, id: u64) -> String {
        format!("article {id}")
    }

    fn clear(&self) {}
}

#[untraced]
struct Anywhere;

#[untraced]
mod anywhere {}

fn main() {
    let (_, trace) = capture(|| {
        Articles.get(1);
        Articles.clear();
    });
    assert_eq!(trace.tree(), "Articles::get\n  articles cache\nArticles::clear\n");
    let cache = trace.span("articles cache");
    assert_eq!(cache.span_kind, SpanKind::Internal);
    assert_eq!(trace.span("Articles::get").span_kind, SpanKind::Client);
    let keys: Vec<&str> = cache.attributes.iter().map(|kv| kv.key.as_str()).collect();
    assert!(keys.contains(&"hit") && keys.contains(&"return"));
    let _ = Anywhere;
}
