//! The numbers of a report, exactly as DESIGN.md defines them.

use crate::market::Candle;

/// `(closes[last] / closes[last - hours] - 1) * 100`, or `None` without enough history.
pub fn pct_change_back(closes: &[f64], hours: usize) -> Option<f64> {
    let last = closes.len().checked_sub(1)?;
    let then = closes[last.checked_sub(hours)?];
    let now = closes[last];
    if then == 0.0 || !then.is_finite() || !now.is_finite() {
        return None;
    }
    Some((now / then - 1.0) * 100.0)
}

/// True range for i >= 1: `max(H-L, |H-Cprev|, |L-Cprev|)`. Index 0 has none.
pub fn true_range(candles: &[Candle]) -> Vec<f64> {
    candles
        .windows(2)
        .map(|w| {
            let (prev, c) = (&w[0], &w[1]);
            (c.high - c.low)
                .max((c.high - prev.close).abs())
                .max((c.low - prev.close).abs())
        })
        .collect()
}

/// ATR(n) the way TA-Lib computes it. Element `i` of the result is the ATR at candle
/// index `n + i`: the first is the mean of TR[1..=n], then Wilder's smoothing
/// `ATR[i] = (ATR[i-1] * (n-1) + TR[i]) / n`. Empty when there are not n+1 candles.
pub fn atr_series(candles: &[Candle], n: usize) -> Vec<f64> {
    if n == 0 || candles.len() <= n {
        return Vec::new();
    }
    let tr = true_range(candles); // tr[k] is TR[k + 1]
    let nf = n as f64;
    let mut out = Vec::with_capacity(tr.len() - n + 1);
    let mut atr = tr[..n].iter().sum::<f64>() / nf;
    out.push(atr);
    for &t in &tr[n..] {
        atr = (atr * (nf - 1.0) + t) / nf;
        out.push(atr);
    }
    out
}

/// ATR(n) at the last candle.
pub fn atr_last(candles: &[Candle], n: usize) -> Option<f64> {
    atr_series(candles, n).last().copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn candle(high: f64, low: f64, close: f64) -> Candle {
        Candle {
            open_time: 0,
            open: close,
            high,
            low,
            close,
            volume: 0.0,
        }
    }

    /// The test vector of DESIGN.md (n = 5).
    fn design_vector() -> Vec<Candle> {
        let highs = [
            10.0, 11.0, 12.0, 11.5, 13.0, 12.5, 14.0, 13.5, 15.0, 14.0, 16.0, 15.5, 17.0, 16.5, 18.0, 17.5,
        ];
        highs
            .iter()
            .enumerate()
            .map(|(i, &h)| {
                let l = match i {
                    3 => 9.8,
                    8 => 12.8,
                    _ => h - 1.0,
                };
                let c = if i == 5 { 12.3 } else { (h + l) / 2.0 };
                candle(h, l, c)
            })
            .collect()
    }

    #[test]
    fn atr_matches_the_design_test_vector() {
        let atr = atr_series(&design_vector(), 5);
        let expected = [1.61, 1.628, 1.5024, 1.64192, 1.513536];
        for (i, want) in expected.iter().enumerate() {
            assert!(
                (atr[i] - want).abs() < 1e-12,
                "ATR[{}] = {} want {}",
                i + 5,
                atr[i],
                want
            );
        }
        assert_eq!(atr.len(), 16 - 5);
    }

    #[test]
    fn atr_needs_n_plus_one_candles() {
        let v = design_vector();
        assert!(atr_series(&v[..5], 5).is_empty());
        assert_eq!(atr_series(&v[..6], 5).len(), 1);
        assert!(atr_last(&v, 0).is_none());
    }

    #[test]
    fn pct_change_uses_the_close_h_hours_back() {
        let closes: Vec<f64> = (0..=168).map(|i| 100.0 + i as f64).collect();
        assert_eq!(pct_change_back(&closes, 24), Some((268.0 / 244.0 - 1.0) * 100.0));
        assert_eq!(pct_change_back(&closes, 168), Some((268.0 / 100.0 - 1.0) * 100.0));
        assert_eq!(pct_change_back(&closes, 169), None);
        assert_eq!(pct_change_back(&[], 1), None);
        assert_eq!(pct_change_back(&[0.0, 1.0], 1), None);
    }
}
