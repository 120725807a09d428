//! Who a signal is about. Unstuck accepts any of an email, a LinkedIn URL or a company domain
//! (plus names and a title that are shown but never matched on). Senders spell the same
//! person many ways — `Ada@Example.COM`, `uk.linkedin.com/in/Ada-L/?trk=x`, `https://www.
//! example.com/pricing` — so each matching field is reduced to one canonical form here, before
//! it is stored, compared, or fed to the idempotency key.

use serde::Deserialize;

use crate::Email;

/// Longest first name, last name or title accepted, in characters.
pub const MAX_NAME_LENGTH: usize = 200;

const LINKEDIN_ERROR: &str = "must be a LinkedIn profile or company URL";
const DOMAIN_ERROR: &str = "must be a domain such as example.com";

/// The `identity` object as sent. Every field is optional here; [`normalise`] decides.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct RawIdentity {
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub linkedin_url: Option<String>,
    #[serde(default)]
    pub company_domain: Option<String>,
    #[serde(default)]
    pub first_name: Option<String>,
    #[serde(default)]
    pub last_name: Option<String>,
    #[serde(default)]
    pub title: Option<String>,
}

/// An identity whose matching fields are canonical and whose display fields are trimmed.
/// At least one of `email`, `linkedin_url` and `company_domain` is present.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Identity {
    pub email: Option<String>,
    pub linkedin_url: Option<String>,
    pub company_domain: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub title: Option<String>,
}

/// A problem with one field: its path in the request body (`identity.email`) and what is wrong.
pub type Problem = (String, String);

/// Normalises every field of `raw`, collecting every problem rather than stopping at the
/// first, so a sender can fix a request in one round trip.
///
/// A matching field that is blank (empty or only whitespace) counts as absent, like a blank
/// name: senders that always send every key fill the unknown ones with `""`. "At least one"
/// counts the matching fields that were given, so an identity whose only email is malformed
/// gets the email's problem, not also a second "give at least one" problem.
pub fn normalise(raw: &RawIdentity) -> Result<Identity, Vec<Problem>> {
    let mut problems = Vec::new();
    let email = matching_field(&raw.email, "identity.email", normalise_email, &mut problems);
    let linkedin_url =
        matching_field(&raw.linkedin_url, "identity.linkedin_url", canonical_linkedin_url, &mut problems);
    let company_domain =
        matching_field(&raw.company_domain, "identity.company_domain", normalise_domain, &mut problems);
    let given = [&email, &linkedin_url, &company_domain].iter().filter(|f| f.is_some()).count();
    if given == 0 {
        problems.push((
            "identity".to_owned(),
            "must include at least one of email, linkedin_url and company_domain".to_owned(),
        ));
    }
    let first_name = display_field(&raw.first_name, "identity.first_name", &mut problems);
    let last_name = display_field(&raw.last_name, "identity.last_name", &mut problems);
    let title = display_field(&raw.title, "identity.title", &mut problems);
    if !problems.is_empty() {
        return Err(problems);
    }
    Ok(Identity {
        email: email.flatten(),
        linkedin_url: linkedin_url.flatten(),
        company_domain: company_domain.flatten(),
        first_name,
        last_name,
        title,
    })
}

/// `None` when the field was not given (or blank); `Some(None)` when it was given but is
/// invalid (the problem is recorded); `Some(Some(value))` when it is good.
fn matching_field(
    raw: &Option<String>,
    path: &str,
    parse: fn(&str) -> Result<String, &'static str>,
    problems: &mut Vec<Problem>,
) -> Option<Option<String>> {
    let text = raw.as_deref().filter(|t| !t.trim().is_empty())?;
    match parse(text) {
        Ok(value) => Some(Some(value)),
        Err(message) => {
            problems.push((path.to_owned(), message.to_owned()));
            Some(None)
        }
    }
}

fn display_field(raw: &Option<String>, path: &str, problems: &mut Vec<Problem>) -> Option<String> {
    let text = raw.as_deref().map(str::trim).filter(|t| !t.is_empty())?;
    if text.chars().count() > MAX_NAME_LENGTH {
        problems.push((path.to_owned(), format!("must be at most {MAX_NAME_LENGTH} characters")));
        return None;
    }
    Some(text.to_owned())
}

/// An email address, trimmed and lower-cased as a whole. Lower-casing the local part is not
/// what RFC 5321 promises, but it is what every mailbox provider a B2B lead uses does, and it
/// is what makes `Ada@x.com` and `ada@x.com` the same lead.
pub fn normalise_email(text: &str) -> Result<String, &'static str> {
    Email::parse(text).map(|email| email.as_str().to_owned())
}

/// The canonical `https://www.linkedin.com/in/<slug>` or `https://www.linkedin.com/company/
/// <slug>` for a LinkedIn profile or company URL as people paste them: with or without a
/// scheme, on `linkedin.com`, `www.` or a country subdomain (`uk.`), with a trailing slash,
/// query string (`?trk=…`) or fragment, in any case.
///
/// The slug is lower-cased (LinkedIn slugs are case-insensitive). Percent-encoded slugs stay
/// encoded (`%C3%A9` becomes `%c3%a9`); a raw non-ASCII character, as a browser shows it, is
/// percent-encoded the same way, so both spellings of a profile meet. Anything else — another
/// host, a port, another path (`/pub/…`, `/in/x/details`), an empty slug — is refused.
pub fn canonical_linkedin_url(text: &str) -> Result<String, &'static str> {
    let text = text.trim();
    let rest = strip_prefix_ignore_case(text, "https://")
        .or_else(|| strip_prefix_ignore_case(text, "http://"))
        .unwrap_or(text);
    if rest.contains("://") {
        return Err(LINKEDIN_ERROR);
    }
    let rest = rest.split(['?', '#']).next().unwrap_or_default();
    let (host, path) = rest.split_once('/').ok_or(LINKEDIN_ERROR)?;
    if !is_linkedin_host(&host.to_ascii_lowercase()) {
        return Err(LINKEDIN_ERROR);
    }
    let path = path.strip_suffix('/').unwrap_or(path);
    let (kind, slug) = path.split_once('/').ok_or(LINKEDIN_ERROR)?;
    let kind = match kind.to_ascii_lowercase().as_str() {
        "in" => "in",
        "company" => "company",
        _ => return Err(LINKEDIN_ERROR),
    };
    let slug = canonical_slug(slug).ok_or(LINKEDIN_ERROR)?;
    Ok(format!("https://www.linkedin.com/{kind}/{slug}"))
}

fn strip_prefix_ignore_case<'a>(text: &'a str, prefix: &str) -> Option<&'a str> {
    let head = text.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix).then(|| &text[prefix.len()..])
}

/// `linkedin.com`, `www.linkedin.com`, or a two-letter country subdomain such as `uk.`.
fn is_linkedin_host(host: &str) -> bool {
    match host.strip_suffix("linkedin.com") {
        Some("") | Some("www.") => true,
        Some(sub) => {
            sub.strip_suffix('.').is_some_and(|cc| cc.len() == 2 && cc.bytes().all(|b| b.is_ascii_lowercase()))
        }
        None => false,
    }
}

/// A lower-cased slug of letters, digits, `-`, `_` and well-formed percent escapes; `None`
/// when it is empty or holds anything else (a `/`, a `.`, a space, a stray `%`).
fn canonical_slug(slug: &str) -> Option<String> {
    if slug.is_empty() {
        return None;
    }
    let mut out = String::with_capacity(slug.len());
    let bytes = slug.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b == b'%' {
            let escape = bytes.get(i + 1..i + 3)?;
            if !escape.iter().all(u8::is_ascii_hexdigit) {
                return None;
            }
            out.push('%');
            out.extend(escape.iter().map(|h| char::from(h.to_ascii_lowercase())));
            i += 3;
        } else if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_') {
            out.push(char::from(b.to_ascii_lowercase()));
            i += 1;
        } else if !b.is_ascii() {
            // Not a char boundary issue: non-ASCII bytes are only ever part of a multi-byte
            // character, and we encode the whole UTF-8 sequence byte by byte.
            out.push_str(&format!("%{b:02x}"));
            i += 1;
        } else {
            return None;
        }
    }
    Some(out)
}

/// A company's domain from whatever was sent: a bare domain or a URL. The scheme, `www.`,
/// port, path, query and fragment are dropped, the rest lower-cased and a trailing dot
/// removed; what is left must be a DNS name of at least two labels whose top-level label is
/// not all digits (which refuses IPv4 addresses). Internationalised names must be sent in
/// their `xn--` form: we do not carry IDNA tables.
///
/// `www.` is only dropped when a registrable-looking name remains, so `www.com` stays as sent.
pub fn normalise_domain(text: &str) -> Result<String, &'static str> {
    let mut rest = text.trim().to_ascii_lowercase();
    if let Some((scheme, after)) = rest.split_once("://") {
        let is_scheme =
            !scheme.is_empty() && scheme.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'));
        if !is_scheme {
            return Err(DOMAIN_ERROR);
        }
        rest = after.to_owned();
    }
    let mut host = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if let Some((name, port)) = host.rsplit_once(':') {
        if port.is_empty() || !port.bytes().all(|b| b.is_ascii_digit()) {
            return Err(DOMAIN_ERROR);
        }
        host = name;
    }
    let host = host.strip_suffix('.').unwrap_or(host);
    let host = match host.strip_prefix("www.") {
        Some(name) if name.contains('.') => name,
        _ => host,
    };
    if is_domain(host) { Ok(host.to_owned()) } else { Err(DOMAIN_ERROR) }
}

fn is_domain(host: &str) -> bool {
    if host.is_empty() || host.len() > 253 {
        return false;
    }
    let labels: Vec<&str> = host.split('.').collect();
    let well_formed = labels.iter().all(|label| {
        (1..=63).contains(&label.len())
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    });
    let tld = labels.last().copied().unwrap_or_default();
    well_formed && labels.len() >= 2 && !tld.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw() -> RawIdentity {
        RawIdentity::default()
    }

    #[test]
    fn emails_are_trimmed_and_lowercased_whole() {
        assert_eq!(normalise_email("  Ada.Lovelace@Example.COM ").unwrap(), "ada.lovelace@example.com");
    }

    #[test]
    fn things_that_are_not_emails_are_refused() {
        for bad in ["", "ada", "ada@", "@example.com", "a da@example.com"] {
            assert!(normalise_email(bad).is_err(), "{bad:?} was accepted");
        }
    }

    #[test]
    fn linkedin_profiles_in_every_pasted_shape_become_one_canonical_url() {
        let canonical = "https://www.linkedin.com/in/ada-lovelace";
        for url in [
            "https://www.linkedin.com/in/ada-lovelace",
            "http://linkedin.com/in/ada-lovelace/",
            "www.linkedin.com/in/Ada-Lovelace",
            "linkedin.com/in/ada-lovelace?trk=public_profile",
            "HTTPS://UK.LinkedIn.com/IN/ADA-LOVELACE/#experience",
            "  https://de.linkedin.com/in/ada-lovelace/?originalSubdomain=de  ",
        ] {
            assert_eq!(canonical_linkedin_url(url).unwrap(), canonical, "{url:?}");
        }
    }

    #[test]
    fn linkedin_company_pages_are_canonical_too() {
        assert_eq!(
            canonical_linkedin_url("uk.linkedin.com/company/Acme-Corp/").unwrap(),
            "https://www.linkedin.com/company/acme-corp"
        );
    }

    #[test]
    fn percent_encoded_slugs_stay_encoded_but_lowercase() {
        assert_eq!(
            canonical_linkedin_url("https://www.linkedin.com/in/Jos%C3%A9-Garc%C3%ADa").unwrap(),
            "https://www.linkedin.com/in/jos%c3%a9-garc%c3%ada"
        );
    }

    #[test]
    fn raw_unicode_slugs_meet_their_percent_encoded_spelling() {
        assert_eq!(
            canonical_linkedin_url("linkedin.com/in/josé").unwrap(),
            canonical_linkedin_url("linkedin.com/in/jos%C3%A9").unwrap()
        );
    }

    #[test]
    fn urls_that_are_not_linkedin_profiles_or_companies_are_refused() {
        for bad in [
            "",
            "https://www.linkedin.com/",
            "https://www.linkedin.com/in/",
            "https://www.linkedin.com/in//",
            "https://www.linkedin.com/pub/ada/1/2/3",
            "https://www.linkedin.com/in/ada/details/experience",
            "https://www.linkedin.com/feed",
            "https://notlinkedin.com/in/ada",
            "https://linkedin.com.evil.example/in/ada",
            "https://evil.example/linkedin.com/in/ada",
            "https://www.linkedin.com:8443/in/ada",
            "ftp://www.linkedin.com/in/ada",
            "https://www.linkedin.com/in/ada lovelace",
            "https://www.linkedin.com/in/ada%2",
            "https://www.linkedin.com/in/ada%zz",
            "https://www.linkedin.com/in/..",
            "https://mobile.linkedin.com/in/ada",
        ] {
            assert_eq!(canonical_linkedin_url(bad), Err(LINKEDIN_ERROR), "{bad:?} was accepted");
        }
    }

    #[test]
    fn domains_lose_scheme_www_path_query_port_and_case() {
        for sent in [
            "example.com",
            "Example.COM",
            "www.example.com",
            "https://www.example.com/pricing?utm=x#top",
            "http://example.com:8080/",
            "example.com.",
            "  EXAMPLE.com/  ",
        ] {
            assert_eq!(normalise_domain(sent).unwrap(), "example.com", "{sent:?}");
        }
        assert_eq!(normalise_domain("app.eu.example.co.uk").unwrap(), "app.eu.example.co.uk");
        assert_eq!(normalise_domain("xn--bcher-kva.example").unwrap(), "xn--bcher-kva.example");
    }

    #[test]
    fn www_is_kept_when_nothing_registrable_would_remain() {
        assert_eq!(normalise_domain("www.com").unwrap(), "www.com");
    }

    #[test]
    fn things_that_are_not_domains_are_refused() {
        let long_label = format!("{}.com", "a".repeat(64));
        let long_name = format!("{}.com", vec!["a".repeat(60); 5].join("."));
        for bad in [
            "",
            "localhost",
            "example",
            "-example.com",
            "example-.com",
            "exa_mple.com",
            "example..com",
            "192.168.0.1",
            "ada@example.com",
            "example.com:http",
            "bücher.example",
            "://example.com",
            long_label.as_str(),
            long_name.as_str(),
        ] {
            assert_eq!(normalise_domain(bad), Err(DOMAIN_ERROR), "{bad:?} was accepted");
        }
        assert!(normalise_domain(&format!("{}.com", "a".repeat(63))).is_ok());
    }

    #[test]
    fn an_identity_is_normalised_field_by_field() {
        let identity = normalise(&RawIdentity {
            email: Some(" Ada@Example.com".into()),
            linkedin_url: Some("uk.linkedin.com/in/Ada/".into()),
            company_domain: Some("https://www.Example.com/".into()),
            first_name: Some("  Ada ".into()),
            last_name: Some("".into()),
            title: Some("   ".into()),
        })
        .unwrap();
        assert_eq!(
            identity,
            Identity {
                email: Some("ada@example.com".into()),
                linkedin_url: Some("https://www.linkedin.com/in/ada".into()),
                company_domain: Some("example.com".into()),
                first_name: Some("Ada".into()),
                last_name: None,
                title: None,
            }
        );
    }

    #[test]
    fn any_one_matching_field_is_enough() {
        assert!(normalise(&RawIdentity { email: Some("a@b.co".into()), ..raw() }).is_ok());
        assert!(normalise(&RawIdentity { linkedin_url: Some("linkedin.com/in/a".into()), ..raw() }).is_ok());
        assert!(normalise(&RawIdentity { company_domain: Some("b.co".into()), ..raw() }).is_ok());
    }

    #[test]
    fn an_identity_without_a_matching_field_is_refused_on_identity() {
        let only_names = RawIdentity { first_name: Some("Ada".into()), email: Some("  ".into()), ..raw() };
        let problems = normalise(&only_names).unwrap_err();
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].0, "identity");
    }

    #[test]
    fn every_problem_is_reported_not_just_the_first() {
        let problems = normalise(&RawIdentity {
            email: Some("not an email".into()),
            linkedin_url: Some("https://twitter.com/ada".into()),
            company_domain: Some("localhost".into()),
            first_name: Some("x".repeat(201)),
            last_name: Some("y".repeat(200)),
            title: Some("t".repeat(300)),
        })
        .unwrap_err();
        let fields: Vec<&str> = problems.iter().map(|(field, _)| field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "identity.email",
                "identity.linkedin_url",
                "identity.company_domain",
                "identity.first_name",
                "identity.title"
            ]
        );
        assert_eq!(problems[1].1, LINKEDIN_ERROR);
        assert_eq!(problems[2].1, DOMAIN_ERROR);
    }

    #[test]
    fn names_are_limited_in_characters_not_bytes() {
        let identity = RawIdentity { email: Some("a@b.co".into()), first_name: Some("é".repeat(200)), ..raw() };
        assert!(normalise(&identity).is_ok());
    }

    #[test]
    fn a_raw_identity_reads_from_json_with_missing_and_null_fields() {
        let raw: RawIdentity = serde_json::from_str(r#"{"email": "a@b.co", "title": null}"#).unwrap();
        assert_eq!(raw, RawIdentity { email: Some("a@b.co".into()), ..RawIdentity::default() });
    }
}
