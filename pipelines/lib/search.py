"""Full-text search over the published file's BM25 index (dbt models in dbt_project/models/marts/search/).

A query is split the way the texts were: by the file's own macro search_tokens (the dbt macro of the
same name, stored at publish), so the CLI and the index can never disagree on what a term is. Syntax:
words are all required (AND) and ranked by BM25; "double quotes" make a phrase (consecutive positions);
a word joined by punctuation (an e-mail address, a domain, 87(2)(b)) is a phrase of its parts, because
that is how the tokenizer indexed it.

Scoring: BM25 with k1, b and the average length from search_settings, computed from the postings'
term_frequency and unit_length. Terms are inlined in an IN list: the postings are sorted by term, so
DuckDB's zone maps read only the row groups that hold them. Phrases are checked on the best-scoring
candidates first, widening the window until enough hits are found, so a phrase of common words costs
about as much as the bag of words unless the phrase is rare.
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

import duckdb

# Tables and the order publish writes them in (sorted postings let zone maps prune by term).
# Published sorted so a lookup by key reads one row group (zone maps): the index by term and unit, and the
# tables snippets are read from by their ids (see _rows_by_key).
TABLE_ORDER = {"search_postings": "term, unit_id", "search_terms": "term", "search_documents": "unit_id",
               "messages": "message_id", "ocr_pages": "page_id"}
# Tables whose rows come in groups that change together: publish compares them group by group
TABLE_GROUP = {"search_postings": "unit_id"}

_QUOTED = re.compile(r'"([^"]*)"|(\S+)')
SNIPPET_BEFORE, SNIPPET_AFTER = 8, 22  # terms shown before / after the first hit
FIRST_WINDOW = 200  # candidates checked for phrases before widening
MAX_LOOKUPS = 100  # point lookups per query (one per hit, or per term and hit) before one IN-list scan instead


class SearchError(ValueError):
    """The query or the file cannot be searched; the message says what to do."""


@dataclass
class Query:
    text: str
    groups: list[list[str]]  # each group: a word (one term) or a phrase (several terms in a row)
    missing: list[str] = field(default_factory=list)  # terms no text holds

    @property
    def terms(self) -> list[str]:
        return list(dict.fromkeys(t for g in self.groups for t in g))

    @property
    def phrases(self) -> list[list[str]]:
        return [g for g in self.groups if len(g) > 1]


@dataclass
class Filters:
    release: str | None = None
    date_from: dt.date | None = None
    date_to: dt.date | None = None

    def sql(self) -> tuple[str, list]:
        where, params = [], []
        if self.release:
            where.append("release_id = ?")
            params.append(self.release)
        if self.date_from:
            where.append("sent_at >= ?::date")
            params.append(self.date_from)
        if self.date_to:  # inclusive: the whole of the last day
            where.append("sent_at < ?::date + 1")
            params.append(self.date_to)
        return " and ".join(where), params


@dataclass
class Hit:
    rank: int
    score: float
    unit_id: int
    kind: str
    release_id: str
    document_id: str
    message_id: str | None
    page: int | None
    sent_at: dt.datetime | None
    title: str | None
    citation: str
    snippet: str = ""
    matched_at: int | None = field(default=None, repr=False)


def has_index(con: duckdb.DuckDBPyConnection) -> bool:
    names = {r[0] for r in con.execute(
        "select table_name from duckdb_tables() where schema_name = 'main'").fetchall()}
    return {"search_postings", "search_terms", "search_documents", "search_settings"} <= names


def parse(con: duckdb.DuckDBPyConnection, text: str) -> Query:
    """Split `text` into words and phrases with the file's tokenizer (macro search_tokens)."""
    chunks = [m.group(1) if m.group(1) is not None else m.group(2) for m in _QUOTED.finditer(text.replace("“", '"').replace("”", '"'))]
    if not chunks:
        return Query(text, [])
    rows = con.execute("select list_transform(?::varchar[], lambda c: search_tokens(c))", [chunks]).fetchone()[0]
    return Query(text, [g for g in rows if g])


def _in_list(terms: list[str]) -> str:
    return ", ".join("'" + t.replace("'", "''") + "'" for t in terms)


def _sql_str(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


class _Ranker:
    """Units holding every term, best BM25 first.

    The postings are sorted by term, so each term's postings are a few contiguous row groups that the
    term filter lets DuckDB find by their zone maps. Each term's postings are scored and joined on the
    unit (the rarer term builds the hash table), so only units holding every term remain. (A threshold
    algorithm over the best postings of each term was tried; on text where the common words are spread
    evenly it had to read most postings anyway, in several rounds.) k1 and b come from search_settings
    and are folded into constants, so search_terms and search_settings are not joined."""

    def __init__(self, con, query: Query, filters: Filters, stats: dict[str, tuple[float, int]]):
        self.con, self.terms = con, query.terms
        k1, b, avg = con.execute("select k1, b, average_length from search_settings").fetchone()
        avg = avg or 1.0
        # idf * tf * (k1 + 1) / (tf + k1 * (1 - b + b * len / avg)), with the constants folded
        # (::double: a bare literal is a DECIMAL, and decimal arithmetic on every posting is slow)
        self.part = {t: (f"{stats[t][0] * (k1 + 1)!r}::double * term_frequency / "
                         f"(term_frequency + {k1 * (1 - b)!r}::double + {k1 * b / avg!r}::double * unit_length)")
                     for t in self.terms}
        self.df = {t: stats[t][1] for t in self.terms}
        where, self.params = filters.sql()
        self.unit_filter = f" and unit_id in (select unit_id from search_documents where {where})" if where else ""

    def top(self, n: int) -> list[tuple[int, float]]:
        # one subquery per term, joined on the unit: a hash join of two ~1M-row term ranges took about a
        # sixth of the time of one hash aggregate over both (1M groups), and it keeps only units with every term
        terms = sorted(self.terms, key=self.df.get)
        ctes = ", ".join(f"t{i} as (select unit_id, {self.part[t]} as s{i} from search_postings "
                         f"where term = {_sql_str(t)}{self.unit_filter})" for i, t in enumerate(terms))
        joins = " ".join(f"join t{i} using (unit_id)" for i in range(1, len(terms)))
        total = " + ".join(f"s{i}" for i in range(len(terms)))
        return self.con.execute(f"""
            with {ctes}
            select unit_id, {total} as score
            from t0 {joins}
            order by score desc, unit_id
            limit {int(n)}""", self.params * len(terms)).fetchall()


def _phrase_starts(phrase_cols: list[str]) -> str:
    rest = " and ".join(f"list_contains({c}, x + {i})" for i, c in enumerate(phrase_cols) if i)
    return f"list_filter({phrase_cols[0]}, lambda x: {rest})"


def _check_phrases(con, query: Query, units: list[int]) -> dict[int, int]:
    """unit_id -> first position where all phrases hold (the earliest start of the first phrase)."""
    if not units:
        return {}
    terms = query.terms
    col = {t: f"p{i}" for i, t in enumerate(terms)}
    pivots = ", ".join(f"any_value(positions) filter (where term = '{t.replace(chr(39), chr(39) * 2)}') as {col[t]}"
                       for t in terms)
    conds, starts = [], []
    for phrase in query.phrases:
        s = _phrase_starts([col[t] for t in phrase])
        conds.append(f"len({s}) > 0")
        starts.append(f"list_min({s})")
    sql = f"""
        with pos as (
            select unit_id, {pivots}
            from search_postings
            where term in ({_in_list(terms)}) and unit_id in (select unnest(?::integer[]))
            group by unit_id
        )
        select unit_id, {starts[0]} as first_at from pos where {' and '.join(conds)}"""
    return dict(con.execute(sql, [units]).fetchall())


def search(con: duckdb.DuckDBPyConnection, text: str, filters: Filters | None = None, limit: int = 10) -> tuple[Query, list[Hit]]:
    """Ranked hits for `text`. Raises SearchError for a query without any term."""
    filters = filters or Filters()
    query = parse(con, text)
    if not query.terms:
        raise SearchError(f"the query {text!r} has no searchable terms (letters or digits)")
    stats = {t: (idf, df) for t, idf, df in con.execute(
        f"select term, idf, document_frequency from search_terms where term in ({_in_list(query.terms)})").fetchall()}
    query.missing = [t for t in query.terms if t not in stats]
    if query.missing:
        return query, []
    ranker = _Ranker(con, query, filters, stats)
    if not query.phrases:
        ranked, first_at = ranker.top(limit), {}
    else:
        # the best bag-of-words candidates first; widen until `limit` of them hold the phrases or none are left
        ranked, first_at, window = [], {}, max(FIRST_WINDOW, limit * 20)
        while True:
            batch = ranker.top(window)
            first_at = _check_phrases(con, query, [u for u, _ in batch])
            ranked = [(u, sc) for u, sc in batch if u in first_at][:limit]
            if len(ranked) >= limit or len(batch) < window:
                break
            window *= 8
    hits = _describe(con, ranked, query, first_at)
    return query, hits


def _rows_by_key(con, select_sql: str, key: str, values: list) -> list[tuple]:
    """The rows of `select_sql` whose `key` is one of `values`, one `key = constant` query per value.

    In a table sorted by `key` (TABLE_ORDER), an equality filter is pruned to one row group by its zone
    map; an IN list over the same values is not, and reads the whole column (1M messages: ~200 ms
    against ~20 ms for ten hits, measured side by side)."""
    literal = (lambda v: str(int(v))) if all(isinstance(v, int) for v in values) else _sql_str
    if len(values) > MAX_LOOKUPS:  # a long --limit: one scan beats planning hundreds of queries
        return con.execute(f"{select_sql} where {key} in ({', '.join(map(literal, values))})").fetchall()
    return con.execute(" union all ".join(
        f"({select_sql} where {key} = {literal(v)})" for v in values)).fetchall()


def _describe(con, ranked: list[tuple[int, float]], query: Query, first_at: dict[int, int]) -> list[Hit]:
    """Hits with their unit's details and a snippet around the first match. Each table is read with a
    constant IN list, so only the row groups (and rows) of the hits are touched."""
    if not ranked:
        return []
    units = [u for u, _ in ranked]
    docs = {r[0]: r for r in _rows_by_key(con, """
        select unit_id, kind, source_id, release_id, document_id, message_id, page, sent_at, title, citation, text
        from search_documents""", "unit_id", units)}
    if len(first_at) < len(units):  # no phrase: the first position of any query term
        # one (term, unit) lookup each: the postings are sorted by both, so each reads one row group
        pairs = [(t, u) for t in query.terms for u in units]
        lookups = " union all ".join(
            f"(select unit_id, list_min(positions) as p from search_postings where term = {_sql_str(t)} and unit_id = {int(u)})"
            for t, u in pairs) if len(pairs) <= MAX_LOOKUPS else f"""
            select unit_id, list_min(positions) as p from search_postings
            where term in ({_in_list(query.terms)}) and unit_id in ({", ".join(map(str, units))})"""
        first_at = {**dict(con.execute(f"select unit_id, min(p) from ({lookups}) group by unit_id").fetchall()), **first_at}
    texts = {d[0]: d[10] for d in docs.values() if d[1] not in ("message", "ocr_page")}
    by_kind = {"message": ("select message_id, concat_ws(chr(10), subject, body_text) from messages", "message_id"),
               "ocr_page": ("select page_id, text from ocr_pages", "page_id")}
    for kind, (sql, key) in by_kind.items():
        ids = {d[2]: d[0] for d in docs.values() if d[1] == kind}
        if ids:  # the indexed text (search_units): a message's subject and body, a page's OCR text
            for source_id, text in _rows_by_key(con, sql, key, list(ids)):
                texts[ids[source_id]] = text
    # a constant pattern is compiled once, not per row
    pattern = con.execute("select token_pattern from search_settings").fetchone()[0]
    snippets = dict(con.execute(f"""
        with t as (
            select unnest(?::integer[]) as unit_id, unnest(?::varchar[]) as text, unnest(?::integer[]) as first_at
        ),
        pieces as (
            -- the text as (separator + term) pieces, so a slice of them is the original text around a hit
            select unit_id, first_at,
                   regexp_extract_all(coalesce(text, ''), {_sql_str("(?s).*?" + pattern)}) as parts
            from t
        )
        select unit_id,
               case when first_at > {SNIPPET_BEFORE + 1} then '…' else '' end
               || trim(regexp_replace(array_to_string(parts[greatest(1, first_at - {SNIPPET_BEFORE}):first_at + {SNIPPET_AFTER}], ''), '\\s+', ' ', 'g'))
               || case when len(parts) > first_at + {SNIPPET_AFTER} then ' …' else '' end
        from pieces""", [units, [texts.get(u) for u in units], [first_at.get(u, 1) for u in units]]).fetchall())
    hits = []
    for rank, (unit, score) in enumerate(ranked, 1):
        d = docs[unit]
        hits.append(Hit(rank=rank, score=score, unit_id=unit, kind=d[1], release_id=d[3], document_id=d[4],
                        message_id=d[5], page=d[6], sent_at=d[7], title=d[8], citation=d[9],
                        snippet=snippets.get(unit) or "", matched_at=first_at.get(unit)))
    return hits


def _macro_sql() -> str:
    """search_bm25(q): every term of q required, ranked by BM25, for plain SQL in any client."""
    return """
        with q as (select list_distinct(search_tokens(q)) as terms),
        scored as (
            select p.unit_id,
                   sum(t.idf * p.term_frequency * (s.k1 + 1)
                       / (p.term_frequency + s.k1 * (1 - s.b + s.b * p.unit_length / s.average_length))) as score
            from search_postings p
            join search_terms t on t.term = p.term
            cross join search_settings s
            where list_contains((select terms from q), p.term)
            group by p.unit_id
            having count(*) = (select len(terms) from q)
        )
        select d.unit_id, scored.score, d.kind, d.release_id, d.document_id, d.message_id, d.page, d.sent_at,
               d.title, d.citation
        from scored join search_documents d using (unit_id)
        order by scored.score desc, d.unit_id"""


def install_macros(con: duckdb.DuckDBPyConnection, catalog: str) -> None:
    """Store search_tokens(text) and search_bm25(q) in `catalog` (an attached file holding the search
    tables). Names inside are unqualified, so they resolve in whichever file opens them as its own."""
    tokenizer = con.execute(f'select tokenizer_sql from "{catalog}".main.search_settings').fetchone()[0]
    previous = con.execute("select current_database()").fetchone()[0]
    con.execute(f'use "{catalog}"')
    try:
        con.execute(f"create or replace macro search_tokens(text) as {tokenizer}")
        con.execute(f"create or replace macro search_bm25(q) as table {_macro_sql()}")
    finally:
        con.execute(f'use "{previous}"')
