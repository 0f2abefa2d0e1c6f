//! Who is told about content, by where it is hosted: the rule INHOPE hotlines follow.
//!
//! Hosted in the hotline's own country, the hotline sends the notice to the host itself (and
//! the police of its country get the report through the case, as always). Hosted where a partner
//! hotline works, the report goes to that hotline, which knows its law, its hosts and its police.
//! Anywhere else, or where the country is unknown, the host is sent the notice directly and law
//! enforcement is told as well, since no one else will follow it up.

use crate::{Country, Partner, PartnerDirectory};

/// Where a notice goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    NoticeToHost,
    ForwardToPartner(Partner),
    NoticeToHostAndLawEnforcement,
}

impl Route {
    /// A stable code for the store and exports.
    pub fn code(&self) -> &'static str {
        match self {
            Route::NoticeToHost => "notice_to_host",
            Route::ForwardToPartner(_) => "partner_hotline",
            Route::NoticeToHostAndLawEnforcement => "notice_to_host_and_law_enforcement",
        }
    }
}

/// The route for content hosted in `hosting` (unknown: `None`) by a hotline working in `ours`.
pub fn route(hosting: Option<Country>, ours: Country, partners: &PartnerDirectory) -> Route {
    match hosting {
        Some(country) if country == ours => Route::NoticeToHost,
        Some(country) => partners
            .partner_in(country)
            .map_or(Route::NoticeToHostAndLawEnforcement, |partner| {
                Route::ForwardToPartner(partner.clone())
            }),
        None => Route::NoticeToHostAndLawEnforcement,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn home_partner_and_elsewhere_each_have_their_route() {
        let (partners, _) = PartnerDirectory::read_csv(
            "country,hotline,email,webhook\nNL,Offlimits,reports@offlimits.example,\n".as_bytes(),
        )
        .unwrap();
        let country = |code| Country::parse(code);
        let fr = country("FR").unwrap();
        assert_eq!(route(country("FR"), fr, &partners), Route::NoticeToHost);
        match route(country("NL"), fr, &partners) {
            Route::ForwardToPartner(partner) => assert_eq!(partner.hotline, "Offlimits"),
            other => panic!("{other:?}"),
        }
        assert_eq!(
            route(country("US"), fr, &partners),
            Route::NoticeToHostAndLawEnforcement
        );
        assert_eq!(
            route(None, fr, &partners).code(),
            "notice_to_host_and_law_enforcement"
        );
    }
}
