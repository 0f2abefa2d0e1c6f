//! What a reporter says a report is about.
//!
//! The category is the reporter's word, not the analyst's finding (that is the
//! [`classification`](crate::classification)): it decides how soon a human looks, because some
//! reports are about a child at risk now. An item named by several reports keeps the most
//! urgent category any of them gave.

use crate::coded_enum;

coded_enum! {
    /// The categories of the public form and the partner API, as the issue lists them.
    pub enum ReportCategory: "report category" {
        /// Images or videos of the sexual abuse of a child.
        ChildSexualAbuseMaterial = "csam",
        /// An adult seeking contact with a child for sexual purposes.
        Grooming = "grooming",
        /// Abuse streamed live: no file is left, so it cannot wait.
        LiveStreamedAbuse = "live_abuse",
        /// A child threatened with the publication of images of them.
        Sextortion = "sextortion",
        /// Images a young person made of themselves, shared without their consent.
        SelfGeneratedShared = "self_generated",
        /// Anything else the reporter thinks a hotline should see.
        Other = "other",
    }
}

impl ReportCategory {
    /// How urgent a report of this category is, higher first in the triage queue: abuse going
    /// on now (3), then possible contact with a child, who may still be reached and protected
    /// (grooming, sextortion: 2), then material already made (1).
    pub fn urgency(self) -> u8 {
        match self {
            ReportCategory::LiveStreamedAbuse => 3,
            ReportCategory::Grooming | ReportCategory::Sextortion => 2,
            ReportCategory::ChildSexualAbuseMaterial
            | ReportCategory::SelfGeneratedShared
            | ReportCategory::Other => 1,
        }
    }

    /// Of two categories given to one item, the one it is queued under: the more urgent, and
    /// on a tie the first given (so an item does not change category for nothing).
    pub fn most_urgent(self, other: ReportCategory) -> ReportCategory {
        if other.urgency() > self.urgency() {
            other
        } else {
            self
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_the_ones_the_store_keeps() {
        let codes: Vec<&str> = ReportCategory::ALL.iter().map(|c| c.code()).collect();
        assert_eq!(
            codes,
            [
                "csam",
                "grooming",
                "live_abuse",
                "sextortion",
                "self_generated",
                "other"
            ]
        );
        assert_eq!(
            ReportCategory::from_code("live_abuse"),
            Ok(ReportCategory::LiveStreamedAbuse)
        );
        assert!(ReportCategory::from_code("CSAM").is_err());
    }

    #[test]
    fn live_abuse_comes_first_then_possible_contact_with_a_child() {
        use ReportCategory::*;
        assert_eq!(LiveStreamedAbuse.urgency(), 3);
        assert_eq!(Grooming.urgency(), 2);
        assert_eq!(Sextortion.urgency(), 2);
        for category in [ChildSexualAbuseMaterial, SelfGeneratedShared, Other] {
            assert_eq!(category.urgency(), 1, "{category}");
        }
        assert_eq!(Other.most_urgent(Grooming), Grooming);
        assert_eq!(LiveStreamedAbuse.most_urgent(Sextortion), LiveStreamedAbuse);
        assert_eq!(Grooming.most_urgent(Sextortion), Grooming);
    }
}
