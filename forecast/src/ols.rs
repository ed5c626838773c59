//! Ordinary least squares for the few regressors of HAR-RV and AR(1).
//!
//! Normal equations solved by Gaussian elimination with partial pivoting: with at most four
//! regressors, scaled to order one by the callers, that is as accurate as a QR here and
//! needs no linear-algebra crate.

/// The coefficients b minimising ‖y − X b‖², the rows of X given as `rows`; `None` when
/// X'X is singular (a regressor constant or collinear with others).
pub(crate) fn ols<const K: usize>(rows: &[[f64; K]], y: &[f64]) -> Option<[f64; K]> {
    let mut a = [[0.0; K]; K];
    let mut b = [0.0; K];
    for (x, &y) in rows.iter().zip(y) {
        for i in 0..K {
            b[i] += x[i] * y;
            for j in 0..K {
                a[i][j] += x[i] * x[j];
            }
        }
    }
    let scale = (0..K).map(|i| a[i][i].abs()).fold(0.0, f64::max);
    for col in 0..K {
        let pivot = (col..K).max_by(|&p, &q| a[p][col].abs().total_cmp(&a[q][col].abs()))?;
        if a[pivot][col].abs() <= scale * 1e-12 {
            return None;
        }
        a.swap(col, pivot);
        b.swap(col, pivot);
        for row in col + 1..K {
            let f = a[row][col] / a[col][col];
            let pivot_row = a[col];
            for (v, p) in a[row].iter_mut().zip(pivot_row).skip(col) {
                *v -= f * p;
            }
            b[row] -= f * b[col];
        }
    }
    let mut x = [0.0; K];
    for i in (0..K).rev() {
        let s: f64 = (i + 1..K).map(|j| a[i][j] * x[j]).sum();
        x[i] = (b[i] - s) / a[i][i];
    }
    Some(x)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_line() {
        // y = 1 + 2x on x = 0, 1, 2.
        let b = ols(&[[1.0, 0.0], [1.0, 1.0], [1.0, 2.0]], &[1.0, 3.0, 5.0]).unwrap();
        assert!((b[0] - 1.0).abs() < 1e-12 && (b[1] - 2.0).abs() < 1e-12);
    }

    #[test]
    fn least_squares_by_hand() {
        // x = 0, 1, 2, y = 0, 2, 1: slope = Sxy/Sxx = 1/2, intercept = 1 − ½ = ½.
        let b = ols(&[[1.0, 0.0], [1.0, 1.0], [1.0, 2.0]], &[0.0, 2.0, 1.0]).unwrap();
        assert!((b[0] - 0.5).abs() < 1e-12 && (b[1] - 0.5).abs() < 1e-12);
    }

    #[test]
    fn collinear_is_none() {
        assert!(ols(&[[1.0, 2.0], [2.0, 4.0], [3.0, 6.0]], &[1.0, 2.0, 3.0]).is_none());
    }
}
