function [pks, locs] = findpeaks(y)
  % Shadows octave-signal's findpeaks, whose defaults differ from MATLAB's (it
  % drops peaks below 2*std and rejects negative data). MATLAB's findpeaks(y)
  % returns every strict local maximum; a flat top counts once, at its first
  % sample; end points are never peaks; output keeps the input's orientation.
  isrow_in = size(y, 1) == 1;
  v = y(:);
  v(isnan(v)) = -Inf;
  idx = (1:numel(v)).';
  keep = [true; v(1:end-1) ~= v(2:end)];
  idx = idx(keep);
  s = sign(diff(v(idx)));
  imax = 1 + find(diff(s) < 0);
  locs = idx(imax);
  pks = y(locs);
  pks = pks(:);
  if isrow_in
    pks = pks.';
    locs = locs.';
  end
end
