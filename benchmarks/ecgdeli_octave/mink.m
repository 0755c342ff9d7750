function b = mink(a, k, dim)
  % Stands in for MATLAB's mink (R2017b core, absent from Octave 7): the k smallest
  % values along dim, smallest first; NaN sorted last (Octave's ascending sort
  % already does that).
  if nargin < 3
    dim = find(size(a) ~= 1, 1);
  end
  s = sort(a, dim, 'ascend');
  idx = repmat({':'}, 1, ndims(a));
  idx{dim} = 1:min(k, size(a, dim));
  b = s(idx{:});
end
