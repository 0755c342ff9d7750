function q = quantile(x, p)
  % Shadows Octave's quantile, which errors on an empty input where MATLAB's
  % (Statistics Toolbox) returns NaN: T_Detection calls it on an empty set when no
  % beat qualifies for its T template. Same method as both (MATLAB's = Octave's
  % method 5: sorted values at (k-0.5)/n, linear between, clamped at the ends),
  % NaN ignored; vectors, or matrices column by column.
  if isvector(x)
    x = x(:);
  end
  q = nan(numel(p), max(size(x, 2), 1));
  for c = 1:size(x, 2)
    v = sort(x(~isnan(x(:, c)), c));
    n = numel(v);
    if n == 0
      continue
    elseif n == 1
      q(:, c) = v;
      continue
    end
    pos = ((1:n)' - 0.5) / n;
    pc = min(max(p(:), pos(1)), pos(end));
    q(:, c) = interp1(pos, v, pc);
  end
end
