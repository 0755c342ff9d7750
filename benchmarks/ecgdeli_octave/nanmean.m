function m = nanmean(x)
  % Stands in for MATLAB Statistics Toolbox nanmean (not in core Octave): the
  % mean of the non-NaN values along the first non-singleton dimension.
  if isvector(x)
    x = x(:);
  end
  ok = ~isnan(x);
  x(~ok) = 0;
  m = sum(x, 1) ./ sum(ok, 1);
end
