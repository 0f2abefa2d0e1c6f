//! The analyst's classification of an item in each partner's scheme, and the decision taken.
//!
//! Three schemes, because the item may go to three kinds of partner:
//! - **ICCAM** (INHOPE's platform between hotlines): a legal classification ([`IccamClassification`]),
//!   the kind of site ([`SiteType`]), the apparent age group ([`AgeGroup`]) and gender
//!   ([`Gender`]) of the children, and the actions taken ([`IccamAction`]). The ids are those of
//!   ICCAM's API version 3 as SCART (the Dutch hotline's open-source tool, which speaks it)
//!   seeds them in its table `abuseio_scart_iccam_api_field`, kept in
//!   `shared/schemas/iccam-scart/abuseio_scart_iccam_api_field.csv`; a test reads that file
//!   and checks every id and name here.
//! - **NCMEC's industry categories** ([`NcmecCategory`]), what platforms put in a CyberTipline
//!   report's `industryClassification` and share hashes under.
//! - **Project VIC categories** ([`VicsCategory`]), what forensic tools sort a seized disk by.
//!
//! Each has a stable lowercase code for the store; VICS categories are stored as their number.

use crate::{coded_enum, UnknownCode};

coded_enum! {
    /// ICCAM's legal assessment of content. "Baseline" is illegal everywhere in the INHOPE
    /// network (INTERPOL's baseline standard), "national" illegal under the assessing
    /// hotline's national law only, which decides whether a partner abroad can act on it.
    pub enum IccamClassification: "ICCAM classification" {
        /// Baseline CSAM: illegal in every member country.
        Baseline = "baseline",
        /// National CSAM: illegal under this hotline's national law.
        National = "national",
        /// Not illegal: closed. ICCAM calls it "Ignore" (SCART's `IG`).
        NotIllegal = "not_illegal",
    }
}

impl IccamClassification {
    /// The id ICCAM's API expects in `assessment.classification`.
    pub fn iccam_id(self) -> u32 {
        match self {
            IccamClassification::Baseline => 1,
            IccamClassification::National => 2,
            IccamClassification::NotIllegal => 4,
        }
    }

    /// ICCAM's name for it.
    pub fn iccam_name(self) -> &'static str {
        match self {
            IccamClassification::Baseline => "Baseline CSAM",
            IccamClassification::National => "National CSAM",
            IccamClassification::NotIllegal => "Ignore",
        }
    }

    /// Whether the content is illegal, so that it is acted on (police, host, partner).
    pub fn is_illegal(self) -> bool {
        self != IccamClassification::NotIllegal
    }
}

coded_enum! {
    /// The kind of site content was found on (ICCAM `sourceUrlSiteType`): partners route
    /// notices differently to a file host, a forum or a social network.
    pub enum SiteType: "ICCAM site type" {
        NotDetermined = "not_determined",
        Website = "website",
        FileHost = "file_host",
        ImageStore = "image_store",
        ImageBoard = "image_board",
        Forum = "forum",
        BannerSite = "banner_site",
        LinkSite = "link_site",
        SocialNetworking = "social_networking",
        Redirector = "redirector",
        WebArchive = "web_archive",
        SearchProvider = "search_provider",
        ImageHost = "image_host",
        Blog = "blog",
        NotApplicable = "not_applicable",
    }
}

impl SiteType {
    /// The id ICCAM's API expects. "Not determined" and "Website" share id 2 in ICCAM's table
    /// (as SCART seeds it); the store keeps them apart by their codes.
    pub fn iccam_id(self) -> u32 {
        match self {
            SiteType::NotDetermined | SiteType::Website => 2,
            SiteType::FileHost => 3,
            SiteType::ImageStore => 4,
            SiteType::ImageBoard => 5,
            SiteType::Forum => 6,
            SiteType::BannerSite => 7,
            SiteType::LinkSite => 8,
            SiteType::SocialNetworking => 9,
            SiteType::Redirector => 10,
            SiteType::WebArchive => 11,
            SiteType::SearchProvider => 18,
            SiteType::ImageHost => 20,
            SiteType::Blog => 22,
            SiteType::NotApplicable => 24,
        }
    }

    /// ICCAM's name for it.
    pub fn iccam_name(self) -> &'static str {
        match self {
            SiteType::NotDetermined => "Not Determined",
            SiteType::Website => "Website",
            SiteType::FileHost => "File host",
            SiteType::ImageStore => "Image store",
            SiteType::ImageBoard => "Image board",
            SiteType::Forum => "Forum",
            SiteType::BannerSite => "Banner site",
            SiteType::LinkSite => "Link site",
            SiteType::SocialNetworking => "Social Networking",
            SiteType::Redirector => "Redirector",
            SiteType::WebArchive => "Web archive",
            SiteType::SearchProvider => "Search provider",
            SiteType::ImageHost => "Image host",
            SiteType::Blog => "Blog",
            SiteType::NotApplicable => "Not Applicable",
        }
    }
}

coded_enum! {
    /// The apparent age group of the children depicted (ICCAM `ageCategorization`).
    pub enum AgeGroup: "ICCAM age group" {
        NotCategorised = "not_categorised",
        Infant = "infant",
        PrePubescent = "pre_pubescent",
        Pubescent = "pubescent",
    }
}

impl AgeGroup {
    /// The id ICCAM's API expects.
    pub fn iccam_id(self) -> u32 {
        match self {
            AgeGroup::NotCategorised => 1,
            AgeGroup::Infant => 2,
            AgeGroup::PrePubescent => 3,
            AgeGroup::Pubescent => 4,
        }
    }

    /// ICCAM's name for it.
    pub fn iccam_name(self) -> &'static str {
        match self {
            AgeGroup::NotCategorised => "Not categorised",
            AgeGroup::Infant => "Infant",
            AgeGroup::PrePubescent => "Pre-pubescent",
            AgeGroup::Pubescent => "Pubescent",
        }
    }
}

coded_enum! {
    /// The gender of the children depicted (ICCAM `genderCategorization`).
    pub enum Gender: "ICCAM gender" {
        NotDetermined = "not_determined",
        Female = "female",
        Male = "male",
        Both = "both",
    }
}

impl Gender {
    /// The id ICCAM's API expects.
    pub fn iccam_id(self) -> u32 {
        match self {
            Gender::NotDetermined => 1,
            Gender::Female => 2,
            Gender::Male => 3,
            Gender::Both => 4,
        }
    }

    /// ICCAM's name for it.
    pub fn iccam_name(self) -> &'static str {
        match self {
            Gender::NotDetermined => "Not Determined",
            Gender::Female => "Female",
            Gender::Male => "Male",
            Gender::Both => "Both",
        }
    }
}

coded_enum! {
    /// What a hotline did about content (ICCAM `action.actionType`), as it tells the network.
    pub enum IccamAction: "ICCAM action" {
        /// Sent to the police.
        ReportedToLea = "reported_to_lea",
        /// Notice sent to the hosting provider.
        ReportedToIsp = "reported_to_isp",
        /// The content is gone after a notice.
        Removed = "removed",
        /// The content could not be reached when checked.
        Unavailable = "unavailable",
        /// The content is hosted in another country: its hotline takes over.
        Moved = "moved",
        /// Assessed as not illegal.
        NotIllegal = "not_illegal",
    }
}

impl IccamAction {
    /// The id ICCAM's API expects. "Moved" is 0 in ICCAM's table (as SCART seeds it), and
    /// there is no 5.
    pub fn iccam_id(self) -> u32 {
        match self {
            IccamAction::ReportedToLea => 1,
            IccamAction::ReportedToIsp => 2,
            IccamAction::Removed => 3,
            IccamAction::Unavailable => 4,
            IccamAction::Moved => 0,
            IccamAction::NotIllegal => 6,
        }
    }

    /// ICCAM's name for it.
    pub fn iccam_name(self) -> &'static str {
        match self {
            IccamAction::ReportedToLea => "ReportedToLEA",
            IccamAction::ReportedToIsp => "ReportedToISP",
            IccamAction::Removed => "Removed",
            IccamAction::Unavailable => "Unavailable",
            IccamAction::Moved => "Moved",
            IccamAction::NotIllegal => "NotIllegal",
        }
    }
}

coded_enum! {
    /// NCMEC's industry classification scale (the "industry categories"), a grid of the
    /// child's apparent age (A, B) by what the content shows (1, 2). It is what platforms that
    /// signed NCMEC's industry hash-sharing agreement put in a CyberTipline file's
    /// `industryClassification`, and what NCMEC's hash lists are labelled with.
    pub enum NcmecCategory: "NCMEC industry category" {
        /// A1: a prepubescent child, in a sex act.
        A1 = "a1",
        /// A2: a prepubescent child, in a lascivious exhibition (no sex act).
        A2 = "a2",
        /// B1: a pubescent child, in a sex act.
        B1 = "b1",
        /// B2: a pubescent child, in a lascivious exhibition (no sex act).
        B2 = "b2",
    }
}

impl NcmecCategory {
    /// The value NCMEC's schema takes (`fileClassification`: `A1`, `A2`, `B1`, `B2`).
    pub fn ncmec_code(self) -> &'static str {
        match self {
            NcmecCategory::A1 => "A1",
            NcmecCategory::A2 => "A2",
            NcmecCategory::B1 => "B1",
            NcmecCategory::B2 => "B2",
        }
    }
}

/// Project VIC's categories (the US scheme, 0 to 4), what forensic tools sort a seized disk's
/// media by and VICS JSON carries in `Category`. Stored as the number itself, as VICS does.
/// No public copy of Project VIC's data model was available to check these names against; they
/// are the categories as forensic tools document them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum VicsCategory {
    /// 0: not pertinent to the case (ordinary pictures, system files).
    NonPertinent,
    /// 1: child sexual abuse material.
    ChildAbuseMaterial,
    /// 2: child exploitative, or of uncertain age: not abuse material, but of interest.
    ChildExploitative,
    /// 3: computer-generated or animated depictions.
    CgiAnimation,
    /// 4: comparison images, kept to help identify a victim or place.
    Comparison,
}

impl VicsCategory {
    /// Every category, 0 to 4.
    pub const ALL: &'static [VicsCategory] = &[
        VicsCategory::NonPertinent,
        VicsCategory::ChildAbuseMaterial,
        VicsCategory::ChildExploitative,
        VicsCategory::CgiAnimation,
        VicsCategory::Comparison,
    ];

    /// The number VICS writes in `Category`, and the store keeps.
    pub fn number(self) -> u8 {
        match self {
            VicsCategory::NonPertinent => 0,
            VicsCategory::ChildAbuseMaterial => 1,
            VicsCategory::ChildExploitative => 2,
            VicsCategory::CgiAnimation => 3,
            VicsCategory::Comparison => 4,
        }
    }

    /// The category a stored or imported number names.
    pub fn from_number(number: i64) -> Result<VicsCategory, UnknownCode> {
        VicsCategory::ALL
            .iter()
            .copied()
            .find(|category| i64::from(category.number()) == number)
            .ok_or_else(|| UnknownCode {
                scheme: "Project VIC category",
                code: number.to_string(),
            })
    }
}

coded_enum! {
    /// What the analyst decides to do with an item.
    pub enum Decision: "decision" {
        /// Illegal, and for the police (hosted here, or a child at risk).
        ForwardToLawEnforcement = "law_enforcement",
        /// Illegal and hosted here: a notice to the host, tracked until the content is gone.
        NoticeToHost = "notice_to_host",
        /// Illegal and hosted abroad: the hotline of the hosting country takes over.
        ForwardToPartnerHotline = "partner_hotline",
        /// Not illegal: closed.
        NotIllegal = "not_illegal",
    }
}

impl Decision {
    /// The action the decision is reported to ICCAM as. Forwarding to the partner hotline is
    /// "Moved" with the hosting country: that is how SCART tells ICCAM that content hosted
    /// abroad is for the hotline of that country.
    pub fn iccam_action(self) -> IccamAction {
        match self {
            Decision::ForwardToLawEnforcement => IccamAction::ReportedToLea,
            Decision::NoticeToHost => IccamAction::ReportedToIsp,
            Decision::ForwardToPartnerHotline => IccamAction::Moved,
            Decision::NotIllegal => IccamAction::NotIllegal,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decisions_map_to_their_iccam_actions() {
        assert_eq!(
            Decision::ForwardToLawEnforcement.iccam_action().iccam_id(),
            1
        );
        assert_eq!(Decision::NoticeToHost.iccam_action().iccam_id(), 2);
        assert_eq!(
            Decision::ForwardToPartnerHotline.iccam_action().iccam_id(),
            0
        );
        assert_eq!(Decision::NotIllegal.iccam_action().iccam_id(), 6);
        let codes: Vec<&str> = Decision::ALL.iter().map(|d| d.code()).collect();
        assert_eq!(
            codes,
            [
                "law_enforcement",
                "notice_to_host",
                "partner_hotline",
                "not_illegal"
            ]
        );
    }

    #[test]
    fn vics_categories_are_numbers_0_to_4() {
        for (number, category) in VicsCategory::ALL.iter().enumerate() {
            assert_eq!(usize::from(category.number()), number);
            assert_eq!(VicsCategory::from_number(number as i64), Ok(*category));
        }
        assert!(VicsCategory::from_number(5).is_err());
        assert!(VicsCategory::from_number(-1).is_err());
    }

    #[test]
    fn ncmec_categories_are_the_schema_values() {
        let values: Vec<&str> = NcmecCategory::ALL.iter().map(|c| c.ncmec_code()).collect();
        assert_eq!(values, ["A1", "A2", "B1", "B2"]);
        assert_eq!(NcmecCategory::from_code("b2"), Ok(NcmecCategory::B2));
    }

    #[test]
    fn only_not_illegal_is_not_acted_on() {
        assert!(IccamClassification::Baseline.is_illegal());
        assert!(IccamClassification::National.is_illegal());
        assert!(!IccamClassification::NotIllegal.is_illegal());
    }
}
