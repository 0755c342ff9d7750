function b = maxk(a, k, dim)
  % Stands in for MATLAB's maxk (R2017b core, absent from Octave 7): the k largest
  % values along dim, largest first; NaN counted as missing (sorted last).
  if nargin < 3
    dim = find(size(a) ~= 1, 1);
  end
  s = sort(a, dim, 'descend');   % Octave puts NaN first in descending order
  s = nan_last(s, dim);
  idx = repmat({':'}, 1, ndims(a));
  idx{dim} = 1:min(k, size(a, dim));
  b = s(idx{:});
end

function s = nan_last(s, dim)
  if dim == 2
    s = s.';
  end
  for c = 1:size(s, 2)
    col = s(:, c);
    s(:, c) = [col(~isnan(col)); col(isnan(col))];
  end
  if dim == 2
    s = s.';
  end
end
