//! Deterministic smooth weighted round robin between the two backends (the nginx algorithm):
//! with weights 10/90, any 10 consecutive picks hold exactly one blue.

/// Index 0 is blue, 1 is green.
#[derive(Debug)]
pub(crate) struct Schedule {
    weights: [i64; 2],
    current: [i64; 2],
}

impl Schedule {
    pub(crate) fn new(blue: u32, green: u32) -> Self {
        Self {
            weights: [i64::from(blue), i64::from(green)],
            current: [0, 0],
        }
    }

    /// Replaces the weights and restarts the cycle, so the next pick follows them at once.
    pub(crate) fn set(&mut self, blue: u32, green: u32) {
        *self = Self::new(blue, green);
    }

    pub(crate) fn weights(&self) -> (u32, u32) {
        (
            u32::try_from(self.weights[0]).unwrap_or(u32::MAX),
            u32::try_from(self.weights[1]).unwrap_or(u32::MAX),
        )
    }

    /// The index of the backend for the next request.
    pub(crate) fn pick(&mut self) -> usize {
        let total = self.weights[0] + self.weights[1];
        self.current[0] += self.weights[0];
        self.current[1] += self.weights[1];
        // Ties go to blue; a zero weight never wins because the other side is positive.
        let chosen =
            if self.weights[1] > 0 && (self.weights[0] == 0 || self.current[1] > self.current[0]) {
                1
            } else {
                0
            };
        self.current[chosen] -= total;
        chosen
    }
}

#[cfg(test)]
mod tests {
    use super::Schedule;

    #[test]
    fn every_window_of_ten_holds_one_blue_at_ten_ninety() {
        let mut schedule = Schedule::new(10, 90);
        let picks: Vec<usize> = (0..100).map(|_| schedule.pick()).collect();
        for window in picks.windows(10) {
            assert_eq!(window.iter().filter(|&&pick| pick == 0).count(), 1);
        }
    }

    #[test]
    fn zero_weight_side_is_never_picked() {
        let mut schedule = Schedule::new(0, 5);
        assert!((0..20).all(|_| schedule.pick() == 1));
        schedule.set(3, 0);
        assert!((0..20).all(|_| schedule.pick() == 0));
    }
}
