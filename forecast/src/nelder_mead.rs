//! A Nelder–Mead simplex minimiser, for the GARCH likelihood.
//!
//! Hand-written because the fit needs only a derivative-free minimiser over three
//! unconstrained parameters (the constraints are built into the parameterisation), and the
//! Rust optimisation crates that offer one (argmin) bring a framework far larger than these
//! eighty lines. Standard coefficients (reflection 1, expansion 2, contraction ½, shrink ½),
//! as in Lagarias et al., "Convergence properties of the Nelder–Mead simplex method in low
//! dimensions", SIAM J. Optim. 9 (1998).

/// Where the minimiser stopped.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Minimum {
    /// The best point found.
    pub(crate) x: Vec<f64>,
    /// The function there.
    pub(crate) value: f64,
    /// Function evaluations used.
    pub(crate) evaluations: usize,
}

/// Minimises `f` from `start`, with an initial simplex of steps `step` along each axis; stops
/// when the function values of the simplex agree within `tolerance` (absolute) or after
/// `max_evaluations`.
pub(crate) fn minimize(
    f: impl Fn(&[f64]) -> f64,
    start: &[f64],
    step: f64,
    tolerance: f64,
    max_evaluations: usize,
) -> Minimum {
    let n = start.len();
    let mut simplex: Vec<Vec<f64>> = vec![start.to_vec()];
    for i in 0..n {
        let mut x = start.to_vec();
        x[i] += step;
        simplex.push(x);
    }
    let mut values: Vec<f64> = simplex.iter().map(|x| f(x)).collect();
    let mut evaluations = n + 1;
    let toward = |a: &[f64], b: &[f64], t: f64| -> Vec<f64> {
        a.iter().zip(b).map(|(a, b)| a + t * (b - a)).collect()
    };
    loop {
        let mut order: Vec<usize> = (0..=n).collect();
        order.sort_by(|&a, &b| values[a].total_cmp(&values[b]));
        simplex = order.iter().map(|&i| simplex[i].clone()).collect();
        values = order.iter().map(|&i| values[i]).collect();
        if (values[n] - values[0]).abs() <= tolerance || evaluations >= max_evaluations {
            break;
        }
        let centroid: Vec<f64> = (0..n)
            .map(|j| simplex[..n].iter().map(|x| x[j]).sum::<f64>() / n as f64)
            .collect();
        // Reflection of the worst point through the centroid of the others.
        let reflected = toward(&centroid, &simplex[n], -1.0);
        let fr = f(&reflected);
        evaluations += 1;
        if fr < values[0] {
            let expanded = toward(&centroid, &simplex[n], -2.0);
            let fe = f(&expanded);
            evaluations += 1;
            (simplex[n], values[n]) = if fe < fr {
                (expanded, fe)
            } else {
                (reflected, fr)
            };
        } else if fr < values[n - 1] {
            (simplex[n], values[n]) = (reflected, fr);
        } else {
            // Contraction: outside if the reflection improved on the worst, else inside.
            let (contracted, bound) = if fr < values[n] {
                (toward(&centroid, &reflected, 0.5), fr)
            } else {
                (toward(&centroid, &simplex[n], 0.5), values[n])
            };
            let fc = f(&contracted);
            evaluations += 1;
            if fc < bound {
                (simplex[n], values[n]) = (contracted, fc);
            } else {
                for i in 1..=n {
                    simplex[i] = toward(&simplex[0], &simplex[i], 0.5);
                    values[i] = f(&simplex[i]);
                }
                evaluations += n;
            }
        }
    }
    Minimum {
        x: simplex.swap_remove(0),
        value: values[0],
        evaluations,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_rosenbrock_minimum() {
        let rosenbrock = |x: &[f64]| (1.0 - x[0]).powi(2) + 100.0 * (x[1] - x[0] * x[0]).powi(2);
        let m = minimize(rosenbrock, &[-1.2, 1.0], 0.5, 1e-14, 5_000);
        assert!(
            (m.x[0] - 1.0).abs() < 1e-4 && (m.x[1] - 1.0).abs() < 1e-4,
            "{m:?}"
        );
        assert!(m.value < 1e-8);
    }

    #[test]
    fn stops_at_the_evaluation_budget() {
        let m = minimize(|x: &[f64]| x[0] * x[0], &[10.0], 0.001, 0.0, 50);
        assert!(m.evaluations <= 52);
    }
}
