//! The web pages' common ground through the real server: the sign-in form, its CSRF token, the
//! language switch and the headers every page carries.

use reqwest::redirect::Policy;
use reqwest::{Client, StatusCode};

mod common;
use common::*;

#[tokio::test(flavor = "multi_thread")]
async fn an_analyst_signs_in_with_the_form_in_their_language() {
    let directory = tempfile::tempdir().unwrap();
    let server = start(directory.path().join("vigie.db").to_str().unwrap()).await;
    let client = Client::builder().redirect(Policy::none()).build().unwrap();
    first_admin(&client, &server).await;

    // French from the browser's languages; the page says so and offers English.
    let page = client
        .get(format!("{}/login?next=/triage/items/1", server.base))
        .header("accept-language", "fr-FR,fr;q=0.9,en;q=0.5")
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let policy = page.headers()["content-security-policy"].to_str().unwrap();
    assert!(policy.contains("default-src 'none'") && !policy.contains("script-src"));
    assert_eq!(page.headers()["x-frame-options"], "DENY");
    assert_eq!(page.headers()["cache-control"], "no-store");
    let csrf_cookie = set_cookie(&page, "vigie_csrf").expect("a CSRF cookie");
    let html = page.text().await.unwrap();
    assert!(html.contains("<html lang=\"fr\">"), "{html}");
    assert!(html.contains("<label for=\"password\">Mot de passe</label>"));
    assert!(html.contains("href=\"/login?lang=en\""));
    let csrf = hidden_field(&html, "csrf");
    assert_eq!(csrf_cookie, format!("vigie_csrf={csrf}"));
    assert_eq!(hidden_field(&html, "next"), "/triage/items/1");

    // The switch wins over the browser and is remembered.
    let english = client
        .get(format!("{}/login?lang=en", server.base))
        .header("accept-language", "fr")
        .send()
        .await
        .unwrap();
    assert_eq!(
        set_cookie(&english, "vigie_lang").as_deref(),
        Some("vigie_lang=en")
    );
    assert!(english.text().await.unwrap().contains("<html lang=\"en\">"));
    let remembered = client
        .get(format!("{}/login", server.base))
        .header("accept-language", "fr")
        .header("cookie", "vigie_lang=en")
        .send()
        .await
        .unwrap();
    assert!(remembered
        .text()
        .await
        .unwrap()
        .contains("<html lang=\"en\">"));

    let form = |csrf: &str, password: &str, next: &str| {
        vec![
            ("name", "admin".to_string()),
            ("password", password.to_string()),
            ("csrf", csrf.to_string()),
            ("next", next.to_string()),
        ]
    };
    // A form posted without the page's token (another site's form) is refused.
    let forged = client
        .post(format!("{}/login", server.base))
        .header("cookie", &csrf_cookie)
        .form(&form(&"0".repeat(64), "a long enough password", "/triage"))
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    assert!(forged.text().await.unwrap().contains("\"csrf\""));

    // A wrong password shows the form again with the reason, in the page's language.
    let wrong = client
        .post(format!("{}/login", server.base))
        .header("cookie", format!("{csrf_cookie}; vigie_lang=fr"))
        .form(&form(&csrf, "not the password", "/triage"))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), StatusCode::BAD_REQUEST);
    assert!(wrong
        .text()
        .await
        .unwrap()
        .contains("Nom ou mot de passe incorrect."));

    // The right one leads to `next`, a path on this server only.
    let signed_in = client
        .post(format!("{}/login", server.base))
        .header("cookie", &csrf_cookie)
        .form(&form(&csrf, "a long enough password", "/triage/items/1"))
        .send()
        .await
        .unwrap();
    assert_eq!(signed_in.status(), StatusCode::SEE_OTHER);
    assert_eq!(signed_in.headers()["location"], "/triage/items/1");
    let session = set_cookie(&signed_in, "vigie_session").expect("a session");
    let elsewhere = client
        .post(format!("{}/login", server.base))
        .header("cookie", &csrf_cookie)
        .form(&form(&csrf, "a long enough password", "//evil.example/"))
        .send()
        .await
        .unwrap();
    assert_eq!(elsewhere.headers()["location"], "/triage");

    // Signed in, the layout names the person and offers the sign-out form.
    let page = client
        .get(format!("{}/login", server.base))
        .header("cookie", format!("{session}; {csrf_cookie}"))
        .send()
        .await
        .unwrap();
    let html = page.text().await.unwrap();
    assert!(html.contains("Signed in as admin"), "{html}");
    let out = client
        .post(format!("{}/logout", server.base))
        .header("cookie", format!("{session}; {csrf_cookie}"))
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), StatusCode::SEE_OTHER);
    assert_eq!(out.headers()["location"], "/login");
    let after = client
        .get(format!("{}/m/index/status", server.base))
        .header("cookie", &session)
        .send()
        .await
        .unwrap();
    assert_eq!(after.status(), StatusCode::UNAUTHORIZED);
    // The ended session does not lock its browser out of the sign-in page.
    let again = client
        .get(format!("{}/login", server.base))
        .header("cookie", &session)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), StatusCode::OK);

    let css = client
        .get(format!("{}/static/vigie.css", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(css.status(), StatusCode::OK);
    assert!(css.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/css"));
}
