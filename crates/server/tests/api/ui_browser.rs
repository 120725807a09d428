//! A browser's side of the admin UI for server tests: a cookie jar of one cookie, no
//! automatic redirects (the tests look at them), form posts, and the page's CSRF token.

use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};

use crate::helpers::TestApp;

/// A browser's view of the UI: its cookie, and no automatic redirects (the tests look at them).
pub struct Browser<'a> {
    app: &'a TestApp,
    client: reqwest::Client,
    pub cookie: Option<String>,
}

pub struct Page {
    pub status: u16,
    pub location: Option<String>,
    pub set_cookie: Option<String>,
    pub html: String,
}

impl Page {
    /// The CSRF token a form on the page carries (the login form has no session, so no meta).
    pub fn form_token(&self) -> String {
        let start = self.html.find("name=\"csrf\" value=\"").expect("a csrf field") + 19;
        self.html[start..].split('"').next().unwrap().to_owned()
    }

    /// The CSRF token the page's `<meta name="csrf-token">` carries.
    pub fn csrf(&self) -> String {
        let start = self.html.find("name=\"csrf-token\" content=\"").expect("a csrf meta tag") + 27;
        self.html[start..].split('"').next().unwrap().to_owned()
    }
}

/// A form body (`application/x-www-form-urlencoded`).
pub fn form(fields: &[(&str, &str)]) -> String {
    url::form_urlencoded::Serializer::new(String::new()).extend_pairs(fields).finish()
}

impl<'a> Browser<'a> {
    /// A browser logged in as the owner the test server was started with.
    pub async fn owner(app: &'a TestApp) -> Self {
        let mut browser = Self::new(app);
        browser.log_in(crate::helpers::OWNER_EMAIL, crate::helpers::OWNER_PASSWORD).await;
        browser
    }

    pub fn new(app: &'a TestApp) -> Self {
        let client = reqwest::Client::builder().no_proxy().redirect(reqwest::redirect::Policy::none()).build().unwrap();
        Self { app, client, cookie: None }
    }

    async fn send(&mut self, request: reqwest::RequestBuilder) -> Page {
        let request = match &self.cookie {
            Some(cookie) => request.header(COOKIE, cookie.clone()),
            None => request,
        };
        let response = request.send().await.expect("the server answers");
        let header =
            |name| response.headers().get(name).map(|v: &reqwest::header::HeaderValue| v.to_str().unwrap().to_owned());
        let (status, location, set_cookie) = (response.status().as_u16(), header(LOCATION), header(SET_COOKIE));
        if let Some(set) = &set_cookie {
            let pair = set.split(';').next().unwrap().to_owned();
            self.cookie = if pair.ends_with('=') { None } else { Some(pair) };
        }
        Page { status, location, set_cookie, html: response.text().await.unwrap() }
    }

    pub async fn get(&mut self, path: &str) -> Page {
        let request = self.client.get(self.app.url(path));
        self.send(request).await
    }

    pub async fn post(&mut self, path: &str, fields: &[(&str, &str)]) -> Page {
        let request = self
            .client
            .post(self.app.url(path))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form(fields));
        self.send(request).await
    }

    pub async fn log_in(&mut self, email: &str, password: &str) -> Page {
        let token = self.get("/ui/login").await.form_token();
        let page = self.post("/ui/login", &[("email", email), ("password", password), ("csrf", &token)]).await;
        assert_eq!(page.status, 303, "{}", page.html);
        page
    }
}
